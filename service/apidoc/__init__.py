"""What the OpenAPI document promises beyond the routes' own models.

Exact request schemas (instants, each event type's ``data``), the error answers
every operation can give, and the ``Allow`` header of a 405: the published
document is checked against the running service (tests/api/test_schemathesis.py).
"""
