"""Retention conformance, computed from the snapshot list alone, by each tool's own rules, and
cross-checked against the tool's own dry run.

The policy holds every rule restic's ``forget`` and borg's ``prune`` have: ``last``,
``hourly``, ``daily``, ``weekly``, ``monthly``, ``yearly`` (counts), ``within`` (a duration),
restic's ``within_hourly`` ... ``within_yearly``, ``keep_tags`` and ``group_by``, and borg's
``match_archives`` (``--glob-archives``). Each rule counts as its tool counts: a count rule
keeps the newest snapshot of each of the last N periods that HAVE a snapshot, so a missed
night leaves the daily rule reaching one day further back, never a gap it must fill.

``kept`` is restic's ``ApplyPolicy`` (internal/restic/snapshot_policy.go), ``borg_kept`` is
borg's ``prune_within`` and ``prune_split`` (src/borg/helpers/misc.py, 1.2 and 1.4). What the
retention scenario then proves from the list: nothing is in the repository that the tool's
rules would not keep (``outliving``: allowing what the prune before the newest snapshot kept),
and the tool's own dry run keeps what we compute (``disagreement``). A missed night is not a
retention finding (neither tool keeps what does not exist); the freshness scenario judges it.
How far each count rule reaches is told (``reach``), not judged: a rule short of N has used
every period the repository holds.

    >>> from datetime import datetime, timedelta, UTC
    >>> policy = Policy(daily=2, weekly=1)
    >>> day = datetime(2026, 11, 20, 4, tzinfo=UTC)
    >>> snaps = [Stamp(f"s{i}", day - timedelta(days=i)) for i in range(4)]
    >>> sorted(s.id for s in kept(snaps, policy))
    ['s0', 's1']
    >>> [v.split(": ")[0] for v in outliving(snaps, policy)]   # s2: kept before s0 came
    ['snapshot s3 (2026-11-17 04:00 UTC)']
    >>> sorted(s.id for s in kept([s for s in snaps if s.id != "s1"], policy))  # a missed night
    ['s0', 's2']
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

_WITHIN = re.compile(r"^(?:\d+[ymwdhH])+$")
_WITHIN_PART = re.compile(r"(\d+)([ymwdhH])")
COUNTS = ("last", "hourly", "daily", "weekly", "monthly", "yearly")
WITHIN_BUCKETS = ("within_hourly", "within_daily", "within_weekly", "within_monthly", "within_yearly")


@dataclass(frozen=True)
class Within:
    """A ``keep-within`` duration: restic's ``1y2m3d4h`` (calendar years and months from the
    newest snapshot) or borg's ``2d``, ``1w``, ``36H`` (hours from now: a month 31 days, a year
    365)."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0

    @classmethod
    def parse(cls, text: str) -> Within:
        if not _WITHIN.match(text.strip()):
            raise ValueError(f"{text!r} is not a duration like 7d, 2w, 36h or 1y2m3d4h")
        parts = {unit.lower(): int(n) for n, unit in _WITHIN_PART.findall(text)}  # any order, as restic
        within = cls(*(parts.get(unit, 0) for unit in "ymwdh"))
        if within.borg_hours() <= 0:
            raise ValueError(f"{text!r} is zero")
        return within

    def __str__(self) -> str:
        parts = zip((self.years, self.months, self.weeks, self.days, self.hours), "ymwdh", strict=True)
        return "".join(f"{n}{unit}" for n, unit in parts if n)

    def restic(self) -> str:
        """As restic's ``--keep-within`` takes it (no weeks)."""
        parts = zip((self.years, self.months, self.days + 7 * self.weeks, self.hours), "ymdh", strict=True)
        return "".join(f"{n}{unit}" for n, unit in parts if n)

    def borg_hours(self) -> int:
        """As borg's ``interval`` reads it: hours, a month 31 days, a year 365."""
        return ((self.years * 365 + self.months * 31 + self.weeks * 7 + self.days) * 24
                + self.hours)

    def restic_start(self, latest: datetime) -> datetime:
        """restic: ``latest.AddDate(-y, -m, -d).Add(-h hours)``, with Go's normalisation (an
        overflowing day rolls into the next month)."""
        month = latest.month - 1 - self.months
        year = latest.year - self.years + month // 12
        if year < 2:
            return datetime.min.replace(tzinfo=UTC)  # before any snapshot (restic: 9999y)
        first = latest.replace(year=year, month=month % 12 + 1, day=1)
        return first + timedelta(days=latest.day - 1 - self.days - 7 * self.weeks, hours=-self.hours)


class Policy(BaseModel):
    """The runbook's retention: ``retention: {daily: 7, weekly: 4, monthly: 12}``; also
    ``last``, ``hourly``, ``yearly``, ``within: 2d``, restic's ``within_daily`` (etc.),
    ``keep_tags: [important, "a,b"]`` and ``group_by: host,paths,tags``, borg's
    ``match_archives: "flux-*"``. borgmatic's names (``keep_daily``, ``keep_within``) are
    accepted too."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    last: int = Field(default=0, ge=0, validation_alias=AliasChoices("last", "keep_last"))
    hourly: int = Field(default=0, ge=0, validation_alias=AliasChoices("hourly", "keep_hourly"))
    daily: int = Field(default=0, ge=0, validation_alias=AliasChoices("daily", "keep_daily"))
    weekly: int = Field(default=0, ge=0, validation_alias=AliasChoices("weekly", "keep_weekly"))
    monthly: int = Field(default=0, ge=0, validation_alias=AliasChoices("monthly", "keep_monthly"))
    yearly: int = Field(default=0, ge=0, validation_alias=AliasChoices("yearly", "keep_yearly"))
    within: str | None = Field(default=None, validation_alias=AliasChoices("within", "keep_within"))
    within_hourly: str | None = None   # restic only
    within_daily: str | None = None
    within_weekly: str | None = None
    within_monthly: str | None = None
    within_yearly: str | None = None
    keep_tags: tuple[str, ...] = ()    # restic --keep-tag: "a,b" keeps snapshots with a and b
    group_by: str = "host,paths"       # restic --group-by (host and paths: the job's own list)
    match_archives: str | None = None  # borg --glob-archives (borgmatic's match_archives)

    @field_validator("within", "within_hourly", "within_daily", "within_weekly", "within_monthly",
                     "within_yearly")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None:
            Within.parse(value)
        return value

    @field_validator("group_by")
    @classmethod
    def _groups(cls, value: str) -> str:
        unknown = {g for g in value.split(",") if g} - {"host", "paths", "tags"}
        if unknown:
            raise ValueError(f"group_by takes host, paths and tags, not {', '.join(sorted(unknown))}")
        return value

    @field_validator("match_archives")
    @classmethod
    def _glob(cls, value: str | None) -> str | None:
        if value is not None and value.split(":", 1)[0] in ("re", "pp", "pf", "fm") and ":" in value:
            raise ValueError("match_archives takes a glob (borg 1.x --glob-archives), "
                             "optionally as sh:GLOB")
        return value

    def describe(self) -> str:
        shown = [f"{n} {slot}" for slot, n in self.slots() if n]
        if self.within:
            shown.append(f"all within {self.within}")
        shown += [f"{name.split('_')[1]} within {getattr(self, name)}"
                  for name in WITHIN_BUCKETS if getattr(self, name)]
        shown += [f"tagged {tags}" for tags in self.keep_tags]
        if self.match_archives:
            shown.append(f"archives matching {self.match_archives}")
        return ", ".join(shown) or "nothing"

    def slots(self) -> list[tuple[str, int]]:
        return [(name, getattr(self, name)) for name in COUNTS]

    def restic_words(self) -> list[str]:
        """The policy as ``restic forget`` options."""
        words = [f"--keep-{name}={n}" for name, n in self.slots() if n]
        if self.within:
            words.append(f"--keep-within={Within.parse(self.within).restic()}")
        words += [f"--keep-within-{name.split('_')[1]}={Within.parse(getattr(self, name)).restic()}"
                  for name in WITHIN_BUCKETS if getattr(self, name)]
        words += [f"--keep-tag={tags}" for tags in self.keep_tags]
        return [*words, f"--group-by={self.group_by}"]

    def borg_words(self) -> list[str]:
        """The policy as ``borg prune`` options (1.2 and 1.4); what borg has no rule for is
        refused by ``borg_unsupported``."""
        names = {"last": "last", "hourly": "hourly", "daily": "daily", "weekly": "weekly",
                 "monthly": "monthly", "yearly": "yearly"}
        words = [f"--keep-{names[name]}={n}" for name, n in self.slots() if n]
        if self.within:
            words.append(f"--keep-within={Within.parse(self.within).borg_hours()}H")
        if self.match_archives:
            words.append(f"--glob-archives={_glob_of(self.match_archives)}")
        return words

    def borg_unsupported(self) -> list[str]:
        """Rules of the policy that borg prune does not have."""
        return [*(f"{name}" for name in WITHIN_BUCKETS if getattr(self, name)),
                *(["keep_tags"] if self.keep_tags else []),
                *(["group_by"] if self.group_by != "host,paths" else [])]


def _glob_of(pattern: str) -> str:
    return pattern[3:] if pattern.startswith("sh:") else pattern


@dataclass(frozen=True)
class Stamp:
    """A snapshot (archive, backup set) as retention sees it: an ID, the time its periods are
    read from (restic: as recorded, with its offset; borg: the host's local time), the instant
    (for ``within``; defaults to ``time``) and its tags."""

    id: str
    time: datetime
    kind: str = "snapshot"
    at: datetime | None = None
    tags: frozenset[str] = field(default=frozenset())

    def instant(self) -> datetime:
        moment = self.at or self.time
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def label(self) -> str:
        return f"{self.kind} {self.id} ({self.time:%Y-%m-%d %H:%M %Z})".replace(" )", ")")


def _iso_week(t: datetime) -> str:
    year, week = t.isocalendar()[:2]
    return f"{year}-W{week:02d}"


BUCKETS: dict[str, Callable[[datetime], str]] = {
    "hourly": lambda t: f"{t:%Y-%m-%d %H}",
    "daily": lambda t: f"{t:%Y-%m-%d}",
    "weekly": _iso_week,
    "monthly": lambda t: f"{t:%Y-%m}",
    "yearly": lambda t: f"{t:%Y}",
}
BORG_BUCKETS: dict[str, Callable[[datetime], str]] = {  # borg --keep-last: --keep-secondly
    **BUCKETS, "last": lambda t: f"{t:%Y-%m-%d %H:%M:%S}"}

class Rules(Protocol):
    """A tool's keep rules: ``kept`` (restic) or ``borg_kept``."""

    def __call__(self, snapshots: Iterable[Stamp], policy: Policy,
                 now: datetime | None = None, /) -> set[Stamp]: ...


def kept(snapshots: Iterable[Stamp], policy: Policy, now: datetime | None = None,
         oldest: bool = True) -> set[Stamp]:
    """The snapshots ``policy`` keeps, by restic's ``ApplyPolicy``, in each ``group_by`` group
    (of the job's list: by tags, when the policy groups by them). ``oldest``: restic 0.16 and
    later keep the oldest snapshot of a group while a rule has counts left (0.14 does not).
    ``within`` counts back from the newest snapshot not after ``now``."""
    groups: dict[frozenset[str], list[Stamp]] = {}
    by_tags = "tags" in policy.group_by.split(",")
    for snap in snapshots:
        groups.setdefault(snap.tags if by_tags else frozenset(), []).append(snap)
    keep: set[Stamp] = set()
    for group in groups.values():
        keep |= _restic_group(group, policy, now or datetime.now(UTC), oldest)
    return keep


def _restic_group(group: list[Stamp], policy: Policy, now: datetime, oldest: bool) -> set[Stamp]:
    newest_first = sorted(group, key=lambda s: s.instant(), reverse=True)
    if not newest_first:
        return set()
    latest = max((s.instant() for s in newest_first if s.instant() < now), default=None)
    counts = {name: n for name, n in policy.slots()}
    last: dict[str, str | None] = {name: None for name in (*COUNTS, *WITHIN_BUCKETS)}
    tag_sets = [frozenset(t for t in tags.split(",") if t) for tags in policy.keep_tags]
    keep: set[Stamp] = set()
    final = len(newest_first) - 1
    for nr, snap in enumerate(newest_first):
        moment = snap.time if snap.time.tzinfo else snap.time.replace(tzinfo=UTC)
        keeping = any(tags <= snap.tags for tags in tag_sets)
        if policy.within and latest is not None:
            keeping |= snap.instant() > Within.parse(policy.within).restic_start(latest)
        for name in COUNTS:
            if counts[name] > 0 or counts[name] == -1:
                value = str(nr) if name == "last" else BUCKETS[name](moment)
                if value != last[name] or (oldest and nr == final):
                    keeping, last[name] = True, value
                    counts[name] -= 1 if counts[name] > 0 else 0
        for name in WITHIN_BUCKETS:
            duration = getattr(policy, name)
            if duration and latest is not None and \
                    snap.instant() > Within.parse(duration).restic_start(latest):
                value = BUCKETS[name.split("_")[1]](moment)
                if value != last[name] or (oldest and nr == final):
                    keeping, last[name] = True, value
        if keeping:
            keep.add(snap)
    return keep


def borg_kept(archives: Iterable[Stamp], policy: Policy, now: datetime | None = None) -> set[Stamp]:
    """The archives ``policy`` keeps, by ``borg prune``'s rules (borg 1.2 and 1.4 alike):
    ``within`` keeps every archive younger than its hours before ``now`` (default: the newest
    archive's time, when the estate's prune last ran); then, from last (secondly) to yearly,
    walking from the newest, each rule keeps the newest archive of each period not already
    kept by an earlier rule (a period whose newest archive an earlier rule kept is passed over,
    uncounted), until N; a rule that cannot reach N keeps the oldest archive too. Only archives
    matching ``match_archives`` are ruled on (the caller filters: ``matching``).

    >>> from datetime import datetime, UTC
    >>> years = [Stamp(str(i), datetime(2018 + i // 2, 12, 30 + i % 2, tzinfo=UTC)) for i in range(4)]
    >>> sorted(a.id for a in borg_kept(years[1:] + [Stamp("old", datetime(2017, 1, 1, tzinfo=UTC))],
    ...                                Policy(yearly=3)))
    ['1', '3', 'old']
    """
    newest_first = sorted(archives, key=lambda a: a.instant(), reverse=True)
    keep: set[Stamp] = set()
    if policy.within and newest_first:
        start = (now or newest_first[0].instant()) - timedelta(hours=Within.parse(policy.within).borg_hours())
        keep |= {a for a in newest_first if a.instant() > start}
    for slot, count in policy.slots():
        if not count:
            continue
        last, kept_here, archive = None, 0, None
        for archive in newest_first:
            period = BORG_BUCKETS[slot](archive.time)
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


def matching(archives: Iterable[Stamp], policy: Policy) -> list[Stamp]:
    """The archives borg prune rules on: those whose names match ``match_archives`` (all, if
    unset), checkpoints (``.checkpoint``, ``.checkpoint.N``) left out."""
    glob = _glob_of(policy.match_archives) if policy.match_archives else None
    return [a for a in archives if not _CHECKPOINT.search(a.id)
            and (glob is None or fnmatch.fnmatchcase(a.id, glob))]


_CHECKPOINT = re.compile(r"\.checkpoint(\.\d+)?$")


def outliving(snapshots: Sequence[Stamp], policy: Policy, rules: Rules = kept) -> list[str]:
    """Snapshots nothing in the policy keeps (by ``rules``: restic's ``kept`` or borg's
    ``borg_kept``). The newest may not have met a prune yet, so what the policy kept before it
    is allowed too."""
    if not snapshots:
        return []
    ordered = sorted(snapshots, key=lambda s: s.instant())
    allowed = rules(ordered, policy) | rules(ordered[:-1], policy)
    return [f"{s.label()}: outlives the policy ({policy.describe()}), nothing keeps it"
            for s in ordered if s not in allowed]


def reach(snapshots: Sequence[Stamp], policy: Policy, rules: Rules = kept) -> list[str]:
    """How far each count rule reaches, as the tool counts it: ``daily: 7 of 7, 2026-11-23 to
    2026-11-29 (no snapshot on 2026-11-26)``. Told, not judged: a missed day is the freshness
    scenario's business, and a rule short of N has used every period the repository holds."""
    lines = []
    for slot, count in policy.slots():
        if not count or slot == "last":
            continue
        alone = Policy.model_validate({slot: count})
        periods = sorted({BUCKETS[slot](s.time) for s in rules(snapshots, alone)})
        if not periods:
            continue
        line = f"{slot}: {min(len(periods), count)} of {count}, {periods[0]} to {periods[-1]}"
        if slot == "daily":
            first = datetime.strptime(periods[0], "%Y-%m-%d")
            span = (datetime.strptime(periods[-1], "%Y-%m-%d") - first).days + 1
            gaps = [f"{first + timedelta(days=d):%Y-%m-%d}" for d in range(span)
                    if f"{first + timedelta(days=d):%Y-%m-%d}" not in periods]
            line += f" (no {snapshots[0].kind} on {', '.join(gaps)})" if gaps else ""
        lines.append(line)
    return lines


def disagreement(ours: set[Stamp], theirs: set[str], tool: str, among: Sequence[Stamp]) -> list[str]:
    """Where the tool's own dry run keeps other snapshots than our computation: both lists,
    named. ``theirs`` holds the IDs (borg: archive names) the tool keeps."""
    mine = {s.id for s in ours}
    if mine == theirs:
        return []
    label = {s.id: s.label() for s in among}
    only_ours = sorted(mine - theirs)
    only_theirs = sorted(theirs - mine)
    return [f"{tool} keeps other {among[0].kind if among else 'snapshot'}s than the rules computed "
            f"here: kept here only: {', '.join(label.get(i, i) for i in only_ours) or 'none'}; "
            f"kept by {tool} only: {', '.join(label.get(i, i) for i in only_theirs) or 'none'}"
            f"\n    computed here ({len(mine)}): {', '.join(sorted(mine))}"
            f"\n    {tool} ({len(theirs)}): {', '.join(sorted(theirs))}"]


def restic_forget_kept(listing: Any) -> set[str]:
    """The short IDs ``restic forget --dry-run --json`` keeps (0.14 and 0.18: a list of groups
    with ``keep`` and ``remove``)."""
    if not isinstance(listing, list):
        raise ValueError(f"unexpected restic forget JSON: {str(listing)[:200]}")
    return {str(s.get("short_id") or s["id"][:8]) for group in listing for s in group.get("keep") or []}


_PRUNE_LINE = re.compile(r"^(Keeping archive \(rule: [^)]*\):|Keeping checkpoint archive:|"
                         r"Would prune:)\s+(.*?)\s+\w{3}, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d "
                         r"\[([0-9a-f]{64})\]\s*$")


def borg_prune_kept(text: str, names: dict[str, str]) -> set[str]:
    """The archive names ``borg prune --dry-run --list`` keeps (1.2 and 1.4 print ``Keeping
    archive (rule: daily #1): NAME  Sun, 2026-11-29 03:30:00 [ID]`` or ``Would prune: ...``);
    ``names``: archive ID to name, so a name with spaces is read right. Checkpoints are left
    out, as ``matching`` leaves them out."""
    found = set()
    for line in text.splitlines():
        match = _PRUNE_LINE.match(line.strip())
        if match and match.group(1).startswith("Keeping archive"):
            found.add(names.get(match.group(3), match.group(2)))
    return found


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
    """Calendar windows with no snapshot: each of the last N days (weeks, months, years) up to
    the latest snapshot, from the oldest snapshot's day on. For backup sets and dump tiers whose
    job promises one per day (a window), not for restic's or borg's keep rules (``reach``)."""
    if not snapshots:
        return [f"no snapshot at all, the policy promises {policy.describe()}"]
    oldest, latest = min(s.time for s in snapshots), max(s.time for s in snapshots)
    problems = []
    for slot, count in policy.slots():
        if slot not in BUCKETS or slot == "hourly":
            continue
        have = {BUCKETS[slot](s.time) for s in snapshots}
        for bucket, moment in _expected_buckets(slot, latest, count):
            if BUCKETS[slot](moment) < BUCKETS[slot](oldest):
                break  # before history began: nothing to keep yet
            if bucket not in have:
                problems.append(f"{slot} {bucket}: no {snapshots[0].kind}, though the policy "
                                f"keeps {count} {slot}")
    return problems
