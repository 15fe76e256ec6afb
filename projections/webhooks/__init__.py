"""Webhook tables: subscriptions, per-clock marks (the schedule) and deliveries (the outbox).

They belong to no generation: a rebuild recomputes the read models but must not
announce again what was already announced, so these tables outlive it.
"""
