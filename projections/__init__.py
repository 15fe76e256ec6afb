"""Read models for dashboards and reports, folded from the event log.

The projection follows the log exactly once (its position is committed with
its rows), keeps one row per ticket and one per ticket and metric, plus a
compliance summary, and can be rebuilt from zero into fresh tables that are
switched in atomically. ``projections`` depends on ``domain`` and on the small
ports in ``projections.ports``; never on ``service``.
"""
