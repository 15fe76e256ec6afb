"""Business-time maths: how much open time lies in a span, and when a target runs out.

An instant is open when its local wall-clock date and time (in the calendar's
zone) fall inside an open interval of that local date, and that date is a
working date. ``BusinessCalendar`` compiles one calendar version lazily, one
chunk of about 407 days at a time: the chunk's open intervals flattened to UTC
epoch microseconds, with the business microseconds accrued before and after
each one, so every question is two bisects and some integer arithmetic.
Instants are integer microseconds throughout, never floats.

``CalendarTimeline`` strings calendar versions together instant by instant:
time at instant t counts on the version in effect at t (before the earliest
version's start, the earliest version applies).

Due instants are searched for only up to ``HORIZON_US``, the end of the range
of instants slaclock accepts (``domain.instants``): an amount not used up
before it is due "never" (None). A cheap upper bound on what a calendar can
accrue per chunk settles most such cases without compiling anything, so a
target a sparse calendar would need millennia to meet costs no work.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from domain.calendar import ALWAYS_OPEN, ALWAYS_OPEN_ID, CalendarSpec
from domain.holiday_dates import WorkingDates
from domain.instants import END_US
from domain.versions import Version

US = 1_000_000
DAY_US = 86_400 * US
CHUNK_SHIFT = 45  # 2**45 µs ≈ 407 days per compiled chunk
# Offsets are sampled this often to find a zone's transitions; no zone changes
# its offset twice within three hours.
_SAMPLE_US = 3 * 3600 * US
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DATE = date(1970, 1, 1)
_MIN_US = -(1 << 63)
_MAX_US = 1 << 63
HORIZON_US = END_US  # add_us answers None for a due instant at or after it
_HORIZON_CHUNK = HORIZON_US >> CHUNK_SHIFT
# A chunk spans 407.2 days; offsets of up to a day either side make it touch at
# most 410 local dates, that is at most 60 of each weekday. A wall-clock time
# happens at most twice: in tzdata since 1970 offsets change at least 167 hours
# apart and go back by at most 7 hours, so two overlaps never repeat one time.
_WEEKS_PER_CHUNK = 60
_REPEATS = 2

Stretch = tuple[datetime, datetime, bool]
StretchUs = tuple[int, int, bool]


def to_us(instant: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime (naive: TypeError)."""
    delta = instant - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds


def from_us(instant_us: int) -> datetime:
    """The aware UTC datetime of an epoch-microsecond instant."""
    # Positional, pre-split arguments: timedelta(microseconds=huge) is twice as slow.
    return _EPOCH + timedelta(0, instant_us // US, instant_us % US)


def duration_us(amount: timedelta) -> int:
    return (amount.days * 86_400 + amount.seconds) * US + amount.microseconds


class _Chunk:
    """The open intervals of one UTC chunk, merged, with cumulative business time."""

    __slots__ = ("cend", "cstart", "ends", "starts", "total")

    def __init__(self, pieces: list[tuple[int, int]]) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.cstart: list[int] = []  # business µs accrued in the chunk before each interval
        self.cend: list[int] = []  # ... and at its end
        accrued = 0
        for start, end in pieces:
            if self.ends and self.ends[-1] == start:
                self.ends[-1] = end
                accrued += end - start
                self.cend[-1] = accrued
                continue
            self.starts.append(start)
            self.ends.append(end)
            self.cstart.append(accrued)
            accrued += end - start
            self.cend.append(accrued)
        self.total = accrued

    def accrued(self, instant: int) -> int:
        """Business µs from the chunk's start to ``instant`` (inside the chunk)."""
        i = bisect_right(self.starts, instant) - 1
        if i < 0:
            return 0
        if instant < self.ends[i]:
            return self.cstart[i] + instant - self.starts[i]
        return self.cend[i]

    def instant_at(self, accrued: int) -> int:
        """The earliest instant at which ``accrued`` (0 < accrued <= total) is reached.

        bisect_left picks the interval whose end reaches it first, so a target
        used up exactly at a close is due at that close, not the next opening.
        """
        i = bisect_left(self.cend, accrued)
        return self.starts[i] + accrued - self.cstart[i]

    def stretches(self, lo: int, hi: int) -> Iterator[StretchUs]:
        """Open and closed pieces covering [lo, hi) (a sub-span of the chunk)."""
        starts, ends = self.starts, self.ends
        i = bisect_right(ends, lo)
        at = lo
        while at < hi and i < len(starts) and starts[i] < hi:
            if starts[i] > at:
                yield (at, starts[i], False)
                at = starts[i]
            close = min(ends[i], hi)
            yield (at, close, True)
            at = close
            i += 1
        if at < hi:
            yield (at, hi, False)


def _offset_us(zone: ZoneInfo, instant: int) -> int:
    offset = from_us(instant).astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always has an offset
    return duration_us(offset)


def _sampled_offsets(zone: ZoneInfo, lo: int, count: int) -> list[int]:
    """UTC offsets at lo, lo + step, ... (count of them); compiling is mostly this loop."""
    step, at = timedelta(microseconds=_SAMPLE_US), from_us(lo)
    offsets = []
    for _ in range(count):
        offset = at.astimezone(zone).utcoffset()
        assert offset is not None  # a ZoneInfo always has an offset
        offsets.append(duration_us(offset))
        at += step
    return offsets


def _offset_segments(zone: ZoneInfo, lo: int, hi: int) -> list[tuple[int, int, int]]:
    """[start, end, utc offset] pieces of [lo, hi) over which the offset is constant."""
    probes = [*range(lo, hi - 1, _SAMPLE_US), hi - 1]
    offsets = [*_sampled_offsets(zone, lo, len(probes) - 1), _offset_us(zone, hi - 1)]
    segments: list[tuple[int, int, int]] = []
    seg_start = lo
    for k in range(1, len(probes)):
        before, after = offsets[k - 1], offsets[k]
        at_us = probes[k - 1]
        while before != after and at_us < probes[k]:  # changes in (probes[k-1], probes[k]]
            at_us = _next_change(zone, at_us, probes[k], before)
            segments.append((seg_start, at_us, before))
            seg_start, before = at_us, _offset_us(zone, at_us)
    segments.append((seg_start, hi, offsets[-1]))
    return segments


def _next_change(zone: ZoneInfo, low: int, high: int, offset: int) -> int:
    """The first instant in (low, high] whose offset is not ``offset`` (bisection)."""
    while high - low > 1:
        middle = (low + high) // 2
        if _offset_us(zone, middle) == offset:
            low = middle
        else:
            high = middle
    return high


def _compile_chunk(zone: ZoneInfo, dates: WorkingDates, lo: int, hi: int) -> _Chunk:
    """Map each local date's open intervals to UTC, one constant-offset piece at a time.

    Within a piece local wall time is UTC plus a fixed offset, so the preimage
    of a wall-clock interval is that interval shifted back: a DST gap leaves
    wall times no instant has (the interval is shorter) and an overlap repeats
    wall times in two pieces (the interval is longer).
    """
    pieces: list[tuple[int, int]] = []
    for seg_lo, seg_hi, offset in _offset_segments(zone, lo, hi):
        wall_lo, wall_hi = seg_lo + offset, seg_hi + offset
        for day_number in range(wall_lo // DAY_US, (wall_hi - 1) // DAY_US + 1):
            midnight = day_number * DAY_US
            for open_s, close_s in dates.hours(_EPOCH_DATE + timedelta(days=day_number)):
                start = max(midnight + open_s * US, wall_lo)
                end = min(midnight + close_s * US, wall_hi)
                if start < end:
                    pieces.append((start - offset, end - offset))
    return _Chunk(pieces)


def _merged(pieces: Iterator[StretchUs]) -> Iterator[StretchUs]:
    """Join touching pieces of the same kind (chunk and version borders are invisible)."""
    current: StretchUs | None = None
    for piece in pieces:
        if current is not None and current[2] == piece[2] and current[1] == piece[0]:
            current = (current[0], piece[1], current[2])
            continue
        if current is not None:
            yield current
        current = piece
    if current is not None:
        yield current


def _as_datetimes(pieces: Iterator[StretchUs]) -> Iterator[Stretch]:
    for start, end, is_open in pieces:
        yield (from_us(start), from_us(end), is_open)


class BusinessCalendar:
    """One calendar version, compiled lazily chunk by chunk and cached."""

    def __init__(self, spec: CalendarSpec) -> None:
        self.spec = spec
        self.hours_per_working_day = spec.hours_per_working_day
        self._zone = ZoneInfo(spec.timezone)
        self._dates = WorkingDates(spec)
        self._chunks: dict[int, _Chunk] = {}
        self._never_open = not any(spec.week)
        week_us = sum(end - start for day in spec.week for start, end in day) * US
        monday_us = sum(end - start for start, end in spec.week[0]) * US
        # No chunk accrues more (holidays only close; each extra_open date adds a Monday).
        self._chunk_cap_us = _REPEATS * _WEEKS_PER_CHUNK * week_us
        self._extra_open_us = _REPEATS * len(spec.extra_open) * monday_us

    @property
    def compiled_chunks(self) -> int:
        """How many chunks were compiled so far (the work the cache holds)."""
        return len(self._chunks)

    def _chunk(self, index: int) -> _Chunk:
        chunk = self._chunks.get(index)
        if chunk is None:
            lo, hi = index << CHUNK_SHIFT, (index + 1) << CHUNK_SHIFT
            chunk = _compile_chunk(self._zone, self._dates, lo, hi)
            self._chunks[index] = chunk
        return chunk

    # --- epoch microseconds (the fast paths) ------------------------------------

    def business_us(self, start_us: int, end_us: int) -> int:
        """Business µs in [start_us, end_us); 0 when the span is empty or reversed."""
        if end_us <= start_us:
            return 0
        first, last = start_us >> CHUNK_SHIFT, end_us >> CHUNK_SHIFT
        chunk = self._chunks.get(first) or self._chunk(first)
        if first == last:
            return chunk.accrued(end_us) - chunk.accrued(start_us)
        total = chunk.total - chunk.accrued(start_us)
        for index in range(first + 1, last):
            total += self._chunk(index).total
        return total + self._chunk(last).accrued(end_us)

    def add_us(self, start_us: int, amount_us: int) -> int | None:
        """The earliest instant by which ``amount_us`` business µs accrue from ``start_us``;
        None when that is not before ``HORIZON_US``."""
        if amount_us <= 0:
            if amount_us < 0:
                raise ValueError("a business-time amount cannot be negative")
            return start_us
        index = start_us >> CHUNK_SHIFT
        if index > _HORIZON_CHUNK:
            return None
        chunk = self._chunks.get(index) or self._chunk(index)
        # _Chunk.accrued and .instant_at, inlined: this is the hottest path.
        starts = chunk.starts
        i = bisect_right(starts, start_us) - 1
        if i < 0:
            target = amount_us
        elif start_us < chunk.ends[i]:
            target = chunk.cstart[i] + start_us - starts[i] + amount_us
        else:
            target = chunk.cend[i] + amount_us
        if target <= chunk.total:
            i = bisect_left(chunk.cend, target)
            due = starts[i] + target - chunk.cstart[i]
            return due if due < HORIZON_US else None
        return self._add_beyond(index, target - chunk.total)

    def _add_beyond(self, index: int, remaining: int) -> int | None:
        """Carry ``remaining`` business µs past the end of chunk ``index``, up to the horizon."""
        left = _HORIZON_CHUNK - index
        if self._never_open or remaining > left * self._chunk_cap_us + self._extra_open_us:
            return None  # cannot be used up before the horizon: nothing to compile
        while True:
            index += 1
            if index > _HORIZON_CHUNK:
                return None
            chunk = self._chunk(index)
            if remaining <= chunk.total:
                due = chunk.instant_at(remaining)
                return due if due < HORIZON_US else None
            remaining -= chunk.total

    def stretches_us(self, start_us: int, end_us: int) -> Iterator[StretchUs]:
        """Open (True) and closed pieces covering [start_us, end_us), merged."""
        return _merged(self._raw_stretches(start_us, end_us))

    def _raw_stretches(self, start_us: int, end_us: int) -> Iterator[StretchUs]:
        for index in range(start_us >> CHUNK_SHIFT, (end_us >> CHUNK_SHIFT) + 1):
            lo = max(start_us, index << CHUNK_SHIFT)
            hi = min(end_us, (index + 1) << CHUNK_SHIFT)
            if lo < hi:
                yield from self._chunk(index).stretches(lo, hi)

    # --- aware datetimes ---------------------------------------------------------

    def business_time(self, start: datetime, end: datetime) -> timedelta:
        return timedelta(microseconds=self.business_us(to_us(start), to_us(end)))

    def add_business_time(self, start: datetime, amount: timedelta) -> datetime | None:
        """``add_us`` on datetimes: None when not due before the horizon."""
        due = self.add_us(to_us(start), duration_us(amount))
        return None if due is None else from_us(due)

    def stretches(self, start: datetime, end: datetime) -> Iterator[Stretch]:
        return _as_datetimes(self.stretches_us(to_us(start), to_us(end)))


@lru_cache(maxsize=256)
def compiled_calendar(spec: CalendarSpec) -> BusinessCalendar:
    """One shared compiled calendar per spec, so chunks are compiled once per process."""
    return BusinessCalendar(spec)


def _start_key(version: Version[CalendarSpec]) -> tuple[int, int, int]:
    if version.effective_from is None:
        return (0, 0, version.number)
    return (1, to_us(version.effective_from), version.number)


class CalendarTimeline:
    """Calendar versions applied instant by instant (domain.versions rules)."""

    def __init__(self, calendar_id: str, versions: Sequence[Version[CalendarSpec]]) -> None:
        if not versions:
            raise ValueError(f"calendar {calendar_id!r} has no version")
        self.calendar_id = calendar_id
        ordered = sorted(versions, key=_start_key)
        # bounds[i] is where cals[i] starts to apply; the first applies since ever.
        self._bounds: list[int] = [_MIN_US]
        self._cals: list[BusinessCalendar] = [compiled_calendar(ordered[0].value)]
        for version in ordered[1:]:
            start = _MIN_US if version.effective_from is None else to_us(version.effective_from)
            calendar = compiled_calendar(version.value)
            if start == self._bounds[-1]:
                self._cals[-1] = calendar  # same start: the later version wins
            else:
                self._bounds.append(start)
                self._cals.append(calendar)
        self._single = self._cals[0] if len(self._cals) == 1 else None

    @classmethod
    def always_open(cls) -> CalendarTimeline:
        return cls(ALWAYS_OPEN_ID, [Version(1, None, _EPOCH, ALWAYS_OPEN)])

    def _index(self, instant_us: int) -> int:
        return bisect_right(self._bounds, instant_us) - 1

    def _end_of(self, index: int) -> int:
        return self._bounds[index + 1] if index + 1 < len(self._bounds) else _MAX_US

    def hours_per_working_day_at(self, instant: datetime) -> float:
        return self.hours_per_working_day_at_us(to_us(instant))

    def hours_per_working_day_at_us(self, instant_us: int) -> float:
        return self._cals[self._index(instant_us)].hours_per_working_day

    # --- epoch microseconds ------------------------------------------------------

    def business_us(self, start_us: int, end_us: int) -> int:
        if self._single is not None:
            return self._single.business_us(start_us, end_us)
        total = 0
        index = self._index(start_us)
        while start_us < end_us:
            boundary = self._end_of(index)
            total += self._cals[index].business_us(start_us, min(end_us, boundary))
            start_us, index = boundary, index + 1
        return total

    def add_us(self, start_us: int, amount_us: int) -> int | None:
        if self._single is not None:
            return self._single.add_us(start_us, amount_us)
        if amount_us <= 0:
            return self._cals[0].add_us(start_us, amount_us)  # 0 -> start; < 0 -> error
        index = self._index(start_us)
        while index + 1 < len(self._cals):
            boundary = self._bounds[index + 1]
            if boundary >= HORIZON_US:
                break  # a version from the horizon on cannot change what is due before it
            available = self._cals[index].business_us(start_us, boundary)
            if amount_us <= available:
                break
            amount_us -= available
            start_us, index = boundary, index + 1
        return self._cals[index].add_us(start_us, amount_us)

    def stretches_us(self, start_us: int, end_us: int) -> Iterator[StretchUs]:
        return _merged(self._raw_stretches(start_us, end_us))

    def _raw_stretches(self, start_us: int, end_us: int) -> Iterator[StretchUs]:
        index = self._index(start_us)
        while start_us < end_us:
            boundary = self._end_of(index)
            yield from self._cals[index].stretches_us(start_us, min(end_us, boundary))
            start_us, index = boundary, index + 1

    # --- aware datetimes ---------------------------------------------------------

    def business_time(self, start: datetime, end: datetime) -> timedelta:
        return timedelta(microseconds=self.business_us(to_us(start), to_us(end)))

    def add_business_time(self, start: datetime, amount: timedelta) -> datetime | None:
        if self._single is not None:
            return self._single.add_business_time(start, amount)
        due = self.add_us(to_us(start), duration_us(amount))
        return None if due is None else from_us(due)

    def stretches(self, start: datetime, end: datetime) -> Iterator[Stretch]:
        return _as_datetimes(self.stretches_us(to_us(start), to_us(end)))
