"""Which webhook events a clock's change announces, and what is left to announce later.

A ``Mark`` is what has been announced about one clock (a breach, a risk) and the
instants still to come (``warn_us``, ``due_us`` of a running clock). The
projections keep one per clock that has something announced or scheduled, in
the same transaction as the clock row; a scheduler fires the instants as they
pass (``fire``). Events record facts; these announcements are derived from the
clock rows, so a late event that moves a clock is answered by a re-evaluation
here (``breach_retracted`` when a breach no longer holds).
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.webhooks.kinds import Kind

MET, BREACHED = "met", "breached"


@dataclass(frozen=True)
class ClockView:
    """What a transition needs of a clock row."""

    outcome: str  # met, breached or pending (as evaluated at the ticket's last event)
    running_due_us: int | None  # due instant while running and not yet breached
    warn_us: int | None


@dataclass(frozen=True)
class Mark:
    breached: bool = False  # a breach was announced and not retracted
    at_risk: bool = False  # at_risk was announced for the current warn instant
    warn_us: int | None = None  # the running clock's warn instant
    due_us: int | None = None  # the running clock's due instant

    @property
    def next_us(self) -> int | None:
        """The next instant the scheduler must fire at; None when nothing is pending."""
        if self.breached:
            return None
        instants = [self.due_us] if self.due_us is not None else []
        if not self.at_risk and self.warn_us is not None:
            instants.append(self.warn_us)
        return min(instants) if instants else None

    @property
    def empty(self) -> bool:
        return not self.breached and not self.at_risk and self.next_us is None


NOTHING = Mark()


def transition(
    old: ClockView | None, new: ClockView | None, mark: Mark | None, now_us: int
) -> tuple[list[Kind], Mark | None]:
    """The events a clock's change from ``old`` to ``new`` announces, and its next mark
    (None: nothing to remember). ``now_us`` is the wall clock: a breach by time that the
    re-evaluated clock no longer reaches is retracted."""
    known = mark or NOTHING
    if new is None:
        return [], None
    if new.outcome == MET:
        kinds = [Kind.BREACH_RETRACTED] if known.breached else []
        if old is None or old.outcome != MET:
            kinds.append(Kind.MET)
        return kinds, None
    if new.outcome == BREACHED:
        kinds = [] if known.breached else [Kind.BREACHED]
        return kinds, Mark(breached=True, at_risk=known.at_risk)
    return _pending(new, known, now_us)


def _pending(new: ClockView, known: Mark, now_us: int) -> tuple[list[Kind], Mark | None]:
    due = new.running_due_us
    warn = new.warn_us if due is not None else None  # a paused clock warns of nothing
    kinds: list[Kind] = []
    breached = known.breached
    if breached and (due is None or due > now_us):
        kinds.append(Kind.BREACH_RETRACTED)
        breached = False
    # A risk whose instant moved to the future (a pause, a later due) is announced again then.
    at_risk = known.at_risk and warn is not None and warn <= now_us
    mark = Mark(breached=breached, at_risk=at_risk, warn_us=warn, due_us=due)
    return kinds, None if mark.empty else mark


def fire(mark: Mark, now_us: int) -> tuple[Kind | None, Mark]:
    """What the scheduler announces for a mark at ``now_us``, and the mark after it.

    A clock already past its due instant announces only the breach: a risk
    warning after the fact would say nothing a receiver could still act on.
    """
    if not mark.breached and mark.due_us is not None and mark.due_us <= now_us:
        return Kind.BREACHED, Mark(breached=True, at_risk=mark.at_risk)
    warned = mark.warn_us is not None and mark.warn_us <= now_us
    if not mark.breached and not mark.at_risk and warned:
        return Kind.AT_RISK, Mark(False, True, mark.warn_us, mark.due_us)
    return None, mark


def mark_as_of(view: ClockView, now_us: int) -> Mark | None:
    """The mark a clock would have at ``now_us`` had every instant before it been fired:
    what a subscription made now starts from, so that it hears of what happens after it
    subscribed and not of warnings and breaches already past."""
    _, mark = transition(None, view, None, now_us)
    while mark is not None:
        kind, mark_after = fire(mark, now_us)
        if kind is None:
            break
        mark = mark_after
    return mark
