"""Schedules compared by when they fire, not by how they are written.

Cron: a five-field line is read by cronsim, which follows Debian's cron (names, ranges, steps, 7
for Sunday, and the day-of-month / day-of-week rule: either day field matches, unless one of
them starts with ``*``, then both must). Two lines are compared exactly, not over a window: a
line fires at minute m of hour h of a day exactly when m is in its minute set, h in its hour set
and the day matches (its month in the month set, then the day rule). Whether a day matches
depends only on its month, its day of the month and its weekday, and every possible such triple
(29 February on each weekday included) occurs within 28 consecutive years of 1901-2099. So two
lines fire at the same wall-clock times if and only if they have the same minute set, the same
hour set and the same matching days in 2001-2028 (or neither ever fires). The zone needs no
guess: both are read by the same daemon in the host's zone.

    >>> cron_times("0 2 * * 1-5") == cron_times("0 2 * * mon-fri")
    True
    >>> cron_times("00 02 * * *") == cron_times("0 2 * * *") == cron_times("0 2 * * 0-7")
    True
    >>> cron_times("0 2 * * 7") == cron_times("0 2 * * 0"), cron_times("@daily") == cron_times("0 0 * * *")
    (True, True)
    >>> cron_times("0 2 * * *") == cron_times("0 3 * * *")
    False
    >>> first_difference("0 2 * * *", "0 3 * * *", datetime(2026, 12, 3, 9, 0))
    (datetime.datetime(2026, 12, 4, 2, 0), 0)

systemd: a timer fires at the union of all its ``OnCalendar=`` lines. ``systemd-analyze calendar
--iterations=N`` on the host (the tool's own semantics and the host's zone) gives the next N
firings of each expression; :func:`compare_calendars` compares the unions up to the earliest
horizon any expression reached (an expression with fewer than N firings has none after them),
and names each line of one side whose firings the other side lacks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from cronsim import CronSim, CronSimError

NICKNAMES = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
             "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
             "@hourly": "0 * * * *"}
_CYCLE_START, _CYCLE_END = date(2001, 1, 1), date(2028, 12, 31)  # one whole 28-year cycle
_CYCLE = tuple(_CYCLE_START + timedelta(days=n) for n in range((_CYCLE_END - _CYCLE_START).days + 1))
_DEBIAN_FIELD = re.compile(r"[0-9*,/-]*")  # what is left of a field once its names are taken out
_NAMES = re.compile(r"[A-Za-z]+")
_KNOWN_NAMES = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
                "sun", "mon", "tue", "wed", "thu", "fri", "sat"}


class ScheduleError(ValueError):
    """A schedule that cron (or systemd) would not accept as written."""


@dataclass(frozen=True)
class CronTimes:
    """When a cron line fires: its minutes, its hours, and its days in one 28-year cycle.
    Equal ``CronTimes`` fire at the same times (see the module's docstring for why that is
    exact); a line that never fires has no days, and equals every other that never fires."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[date]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CronTimes):
            return NotImplemented
        if not self.days or not other.days:
            return self.days == other.days
        return (self.minutes, self.hours, self.days) == (other.minutes, other.hours, other.days)

    def __hash__(self) -> int:
        return hash(self.days) if not self.days else hash((self.minutes, self.hours, self.days))


def five_fields(schedule: str) -> str:
    """The five fields of a cron schedule, single-spaced, a nickname spelled out: ``@daily`` is
    ``0 0 * * *``. Refused (:class:`ScheduleError`): ``@reboot`` (it fires at boot, at no time),
    another count of fields, and syntax Debian's cron does not accept (``L``, ``W``, ``#``, ``?``,
    which cronsim would)."""
    words = " ".join(schedule.split())
    words = NICKNAMES.get(words.lower(), words)
    if words.lower() == "@reboot":
        raise ScheduleError("'@reboot' fires when cron starts, not at a time of day")
    fields = words.split()
    if len(fields) != 5:
        raise ScheduleError(f"{schedule!r} is not a cron schedule of five fields (or @daily ...)")
    for field in fields:
        rest = _NAMES.sub(lambda m: "" if m.group().lower() in _KNOWN_NAMES else m.group(), field)
        if not _DEBIAN_FIELD.fullmatch(rest):
            raise ScheduleError(f"{schedule!r}: Debian's cron does not accept the field {field!r} "
                                "(L, W, # and ? are other crons' syntax)")
    return words


@lru_cache(maxsize=256)
def cron_times(schedule: str) -> CronTimes:
    """When ``schedule`` fires, as cronsim reads it (Debian's cron's rules)."""
    words = five_fields(schedule)
    try:
        sim = CronSim(words, datetime(2001, 1, 1))
    except (CronSimError, ValueError) as exc:
        raise ScheduleError(f"{schedule!r} is not a valid cron schedule: {exc}") from exc
    days = frozenset(d for d in _CYCLE if d.month in sim.months and sim.match_day(d))
    return CronTimes(frozenset(sim.minutes), frozenset(sim.hours), days)


def first_difference(one: str, other: str, start: datetime,
                     limit: int = 100_000) -> tuple[datetime, int] | None:
    """The first wall-clock time after ``start`` at which only one of two cron schedules fires,
    and which (0: ``one``, 1: ``other``); None if none is found in ``limit`` firings."""
    sims = [iter(CronSim(five_fields(s), start)) for s in (one, other)]
    upcoming = [_next(sim) for sim in sims]
    for _ in range(limit):
        a, b = upcoming
        if a is None and b is None:
            return None
        if b is None or (a is not None and a < b):
            return (a, 0) if a is not None else None
        if a is None or b < a:
            return b, 1
        upcoming = [_next(sim) for sim in sims]
    return None


def _next(sim: Iterator[datetime]) -> datetime | None:
    """The next firing; None past the last (cronsim stops after 50 years without one, or runs
    past the year 9999)."""
    try:
        return next(sim)
    except (StopIteration, OverflowError):
        return None


# --- systemd calendar expressions ------------------------------------------------------------

_FIRING = re.compile(r"^\s*(Next elapse|Iter\. #\d+|Iteration #\d+|\(in UTC\)):\s*(.*?)\s*$")


@dataclass(frozen=True)
class Calendar:
    """One calendar expression as ``systemd-analyze calendar`` read it: the normalized form and
    its next firings in UTC; ``complete`` when it fires fewer times than were asked for (then
    it never fires after the last one)."""

    original: str
    normalized: str
    firings: tuple[datetime, ...]
    complete: bool


def _utc(text: str) -> datetime | None:
    """``Fri 2026-12-04 02:00:00 UTC`` as a naive UTC datetime; None if not in UTC."""
    parts = text.split()
    if len(parts) != 4 or parts[3] not in ("UTC", "GMT"):
        return None
    return datetime.strptime(f"{parts[1]} {parts[2]}", "%Y-%m-%d %H:%M:%S")


def parse_analyze(text: str, iterations: int) -> list[Calendar]:
    """The blocks of ``systemd-analyze calendar --iterations=N EXPR...`` (systemd 252 prints
    ``Iter. #2:``, 257 ``Iteration #2:``; a host not in UTC adds an ``(in UTC):`` line under
    each time, which is the one read).

    >>> out = ("  Original form: daily\\nNormalized form: *-*-* 00:00:00\\n"
    ...        "    Next elapse: Fri 2026-12-04 00:00:00 HST\\n"
    ...        "       (in UTC): Fri 2026-12-04 10:00:00 UTC\\n       From now: 14h left\\n")
    >>> (cal,) = parse_analyze(out, 1)
    >>> cal.normalized, cal.firings[0].isoformat(), cal.complete
    ('*-*-* 00:00:00', '2026-12-04T10:00:00', False)
    """
    blocks: list[list[str]] = []  # [original, normalized, time, time...]
    after_original = False
    for line in text.splitlines():
        stripped = line.strip()
        label, _, value = stripped.partition(":")
        if label == "Original form":
            blocks.append([value.strip(), ""])
        elif label == "Normalized form":
            if not after_original:  # an expression already normalized has no "Original form:"
                blocks.append([value.strip(), ""])
            blocks[-1][1] = value.strip()
        elif blocks and (match := _FIRING.match(line)) and match.group(2) != "never":
            if match.group(1) == "(in UTC)" and len(blocks[-1]) > 2:
                blocks[-1][-1] = match.group(2)
            else:
                blocks[-1].append(match.group(2))
        after_original = label == "Original form"
    calendars = []
    for original, normalized, *times in blocks:
        firings = []
        for shown in times:
            when = _utc(shown)
            if when is None:
                raise ValueError(f"systemd-analyze printed a time not in UTC: {shown!r}")
            firings.append(when)
        calendars.append(Calendar(original, normalized, tuple(firings), len(firings) < iterations))
    return calendars


@dataclass(frozen=True)
class CalendarComparison:
    same: bool
    horizon: datetime | None  # compared up to this time (None: every firing there is)
    extra: tuple[Calendar, ...]  # lines of the timer with firings the runbook does not state
    missing: tuple[Calendar, ...]  # lines of the runbook with firings the timer lacks
    first_difference: datetime | None


def compare_calendars(timer: list[Calendar], declared: list[Calendar]) -> CalendarComparison:
    """Do the timer's lines, together, fire when the runbook's lines do?

    >>> t = datetime(2026, 12, 4, 2)
    >>> daily = Calendar("*-*-* 02:00", "*-*-* 02:00:00", (t, t + timedelta(days=1)), False)
    >>> noon = Calendar("12:00", "*-*-* 12:00:00", (t + timedelta(hours=10),), False)
    >>> compare_calendars([daily], [daily]).same
    True
    >>> result = compare_calendars([daily, noon], [daily])
    >>> result.same, [c.original for c in result.extra], result.first_difference.isoformat()
    (False, ['12:00'], '2026-12-04T12:00:00')
    """
    lasts = [c.firings[-1] for c in (*timer, *declared) if not c.complete and c.firings]
    horizon = min(lasts) if lasts else None

    def within(calendar: Calendar) -> frozenset[datetime]:
        return frozenset(t for t in calendar.firings if horizon is None or t <= horizon)

    fired = frozenset().union(*(within(c) for c in timer))
    stated = frozenset().union(*(within(c) for c in declared))
    differ = fired ^ stated
    return CalendarComparison(
        same=not differ, horizon=horizon,
        extra=tuple(c for c in timer if not within(c) <= stated),
        missing=tuple(c for c in declared if not within(c) <= fired),
        first_difference=min(differ) if differ else None)
