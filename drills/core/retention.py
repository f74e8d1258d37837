"""Retention conformance, computed from the snapshot list alone (never from the tool's own
``forget`` output): the policy keeps what it promises where history exists, and nothing
outlives it.

Kept snapshots follow restic's rules: walking from the newest, each ``keep-daily`` (weekly,
monthly, yearly) slot keeps the newest snapshot of a day (ISO week, month, year) not yet seen,
until N slots are used.

    >>> from datetime import datetime, timedelta, UTC
    >>> policy = Policy(daily=2, weekly=1)
    >>> day = datetime(2026, 11, 20, 4, tzinfo=UTC)
    >>> snaps = [Stamp(f"s{i}", day - timedelta(days=i)) for i in range(4)]
    >>> sorted(s.id for s in kept(snaps, policy))
    ['s0', 's1']
    >>> [v.split(": ")[0] for v in outliving(snaps, policy)]   # s2: kept before s0 came
    ['snapshot s3 (2026-11-17 04:00 UTC)']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field


class Policy(BaseModel):
    """``keep-daily`` etc. as the runbook states them: ``retention: {daily: 7, weekly: 4}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    daily: int = Field(default=0, ge=0)
    weekly: int = Field(default=0, ge=0)
    monthly: int = Field(default=0, ge=0)
    yearly: int = Field(default=0, ge=0)

    def describe(self) -> str:
        shown = [f"{n} {slot}" for slot, n in self.slots() if n]
        return ", ".join(shown) or "nothing"

    def slots(self) -> list[tuple[str, int]]:
        return [("daily", self.daily), ("weekly", self.weekly), ("monthly", self.monthly),
                ("yearly", self.yearly)]


@dataclass(frozen=True)
class Stamp:
    """A snapshot (or a backup set) as retention sees it: an ID and a time."""

    id: str
    time: datetime
    kind: str = "snapshot"

    def label(self) -> str:
        return f"{self.kind} {self.id} ({self.time:%Y-%m-%d %H:%M %Z})"


BUCKETS: dict[str, Callable[[datetime], str]] = {
    "daily": lambda t: f"{t:%Y-%m-%d}",
    "weekly": lambda t: "{}-W{:02d}".format(*t.isocalendar()[:2]),
    "monthly": lambda t: f"{t:%Y-%m}",
    "yearly": lambda t: f"{t:%Y}",
}


def kept(snapshots: Iterable[Stamp], policy: Policy) -> set[Stamp]:
    """The snapshots ``policy`` keeps, by restic's rules."""
    newest_first = sorted(snapshots, key=lambda s: s.time, reverse=True)
    keep: set[Stamp] = set()
    for slot, count in policy.slots():
        seen: set[str] = set()
        for snap in newest_first:
            bucket = BUCKETS[slot](snap.time)
            if len(seen) >= count:
                break
            if bucket not in seen:
                seen.add(bucket)
                keep.add(snap)
    return keep


def borg_kept(archives: Iterable[Stamp], policy: Policy) -> set[Stamp]:
    """The archives ``policy`` keeps, by ``borg prune``'s rules (borg 1.2 and 1.4 alike): from
    daily to yearly, walking from the newest, each rule keeps the newest archive of each period
    not already kept by an earlier rule (a period whose newest archive an earlier rule kept is
    passed over, uncounted), until N; a rule that cannot reach N keeps the oldest archive too.

    >>> from datetime import datetime, UTC
    >>> years = [Stamp(str(i), datetime(2018 + i // 2, 12, 30 + i % 2, tzinfo=UTC)) for i in range(4)]
    >>> sorted(a.id for a in borg_kept(years[1:] + [Stamp("old", datetime(2017, 1, 1, tzinfo=UTC))],
    ...                                Policy(yearly=3)))
    ['1', '3', 'old']
    """
    newest_first = sorted(archives, key=lambda a: a.time, reverse=True)
    keep: set[Stamp] = set()
    for slot, count in policy.slots():
        if not count:
            continue
        last, kept_here, archive = None, 0, None
        for archive in newest_first:
            period = BUCKETS[slot](archive.time)
            if period == last:
                continue
            last = period
            if archive not in keep:
                keep.add(archive)
                kept_here += 1
                if kept_here == count:
                    break
        if archive is not None and kept_here < count:
            keep.add(archive)  # the oldest, when the rule cannot be met otherwise
    return keep


def outliving(snapshots: Sequence[Stamp], policy: Policy,
              rules: Callable[[Iterable[Stamp], Policy], set[Stamp]] = kept) -> list[str]:
    """Snapshots nothing in the policy keeps (by ``rules``: restic's ``kept`` or borg's
    ``borg_kept``). The newest may not have met a prune yet, so what the policy kept before it
    is allowed too."""
    if not snapshots:
        return []
    ordered = sorted(snapshots, key=lambda s: s.time)
    allowed = rules(ordered, policy) | rules(ordered[:-1], policy)
    return [f"{s.label()}: outlives the policy ({policy.describe()}), nothing keeps it"
            for s in ordered if s not in allowed]


def _expected_buckets(slot: str, latest: datetime, count: int) -> list[tuple[str, datetime]]:
    """The last ``count`` calendar days (weeks, months, years) up to ``latest``, with a time in
    each."""
    found: list[tuple[str, datetime]] = []
    moment = latest
    while len(found) < count:
        bucket = BUCKETS[slot](moment)
        if not found or found[-1][0] != bucket:
            found.append((bucket, moment))
        moment -= timedelta(days=1)
    return found


def missing(snapshots: Sequence[Stamp], policy: Policy) -> list[str]:
    """Promised slots with no snapshot: each of the last N days (weeks, months, years) up to
    the latest snapshot, from the oldest snapshot's day on (where history exists)."""
    if not snapshots:
        return [f"no snapshot at all, the policy promises {policy.describe()}"]
    oldest, latest = min(s.time for s in snapshots), max(s.time for s in snapshots)
    problems = []
    for slot, count in policy.slots():
        have = {BUCKETS[slot](s.time) for s in snapshots}
        for bucket, moment in _expected_buckets(slot, latest, count):
            if BUCKETS[slot](moment) < BUCKETS[slot](oldest):
                break  # before history began: nothing to keep yet
            if bucket not in have:
                problems.append(f"{slot} {bucket}: no {snapshots[0].kind}, though the policy "
                                f"keeps {count} {slot}")
    return problems
