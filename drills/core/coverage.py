"""Read coverage you can prove: ``read_data_subset: "*/4"`` rotates restic's ``n/t`` slices by
ISO week, so t consecutive weekly drills read every pack, as restic's documentation advises.
Each drill records which slices it read and when (evidence ``read_data``); the history then
proves (or not) that every pack was read within the last t weeks.

    >>> rotation_of("*/4"), rotation_of("2/5"), rotation_of("25%")
    (4, None, None)
    >>> [slice_for(date(2026, 11, d), 4) for d in (29, 30)], slice_for(date(2026, 12, 7), 4)
    ([3, 4], 1)
    >>> missing_slices([SliceRead(1, datetime(2026, 11, 2, tzinfo=UTC)),
    ...                 SliceRead(3, datetime(2026, 11, 20, tzinfo=UTC))],
    ...                4, datetime(2026, 11, 29, tzinfo=UTC))
    [2, 4]
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

_ROTATION = re.compile(r"^\*/([1-9]\d*)$")


def rotation_of(subset: str) -> int | None:
    """t for a rotation ``*/t``; None for a fixed slice (``n/t``) or a percentage."""
    found = _ROTATION.match(subset)
    return int(found.group(1)) if found else None


def slice_for(day: date, slices: int) -> int:
    """The slice (1..t) a drill on ``day`` reads: one per ISO week (weeks start on Monday)."""
    return (day.toordinal() - 1) // 7 % slices + 1


def window(slices: int) -> timedelta:
    """The time in which t weekly drills read every slice (plus a day's grace)."""
    return timedelta(weeks=slices, days=1)


@dataclass(frozen=True)
class SliceRead:
    """One slice read by a drill whose check passed."""

    slice: int
    at: datetime


def from_evidence(entries: object, slices: int) -> list[SliceRead]:
    """The slices of a ``read_data`` evidence list that belong to this rotation and passed."""
    found = []
    for entry in entries if isinstance(entries, list) else []:
        try:
            n, t = (int(x) for x in str(entry["slice"]).split("/"))
            if t == slices and entry.get("passed"):
                found.append(SliceRead(n, datetime.fromisoformat(str(entry["read_at"]))))
        except (KeyError, ValueError, TypeError, AttributeError):
            continue
    return found


def recorded(evidence_dir: Path, job_id: str, key: str) -> Iterator[object]:
    """What earlier drills recorded under ``measured[key]`` for ``job_id``, run by run
    (``<evidence_dir>/<run>/<job_id>.json``); an unreadable file is passed over.

        >>> list(recorded(Path("/nonexistent"), "flux@motoko", "read_data"))
        []
    """
    if not evidence_dir.is_dir():
        return
    for path in sorted(evidence_dir.glob(f"*/{job_id}.json")):
        try:
            measured = json.loads(path.read_text()).get("measured") or {}
            yield measured.get(key)
        except (OSError, ValueError, AttributeError):
            continue


def slices_read(evidence_dir: Path, job_id: str, slices: int) -> list[SliceRead]:
    """Every passed slice of this rotation that earlier drills recorded for ``job_id``."""
    return [read for entry in recorded(evidence_dir, job_id, "read_data")
            for read in from_evidence(entry, slices)]


def missing_slices(reads: list[SliceRead], slices: int, now: datetime) -> list[int]:
    """Slices no passed read covers within the window before ``now``."""
    since = now - window(slices)
    covered = {r.slice for r in reads if r.at >= since}
    return [n for n in range(1, slices + 1) if n not in covered]


def last_reads(reads: list[SliceRead], slices: int) -> dict[int, datetime | None]:
    """When each slice was last read (None: never)."""
    last: dict[int, datetime | None] = dict.fromkeys(range(1, slices + 1))
    for read in reads:
        seen = last.get(read.slice)
        if seen is None or read.at > seen:
            last[read.slice] = read.at
    return last


def today() -> date:
    return datetime.now(UTC).date()
