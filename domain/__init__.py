"""The pure SLA domain: events, calendars, policies and the clock evaluator.

Nothing here imports a web framework, a database driver or an outer layer.
"""
