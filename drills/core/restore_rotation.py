"""Restore coverage you can prove, for trees too large to restore whole each week:
``restore_coverage: "*/8"`` cuts the snapshot's files into t slices by the hash of their path
(relative to the job's source), so t drills restore every file once; each drill restores one
slice plus a random sample of the other files, within the job's ``restore_budget``.

Which slice: the one whose last passing restore is oldest (never restored first), ties broken by
the ISO week (``backup_drills.core.coverage.slice_for``). A week missed or failed is thus made up the
very next drill, where a slice chosen by the week alone would stay unproven for t more weeks;
with no history (or a history in which every slice is as old) it is the week's slice.

    >>> slice_of("active/a.txt", 8) in range(1, 9)
    True
    >>> due_slice([RestoreProof(1, datetime(2026, 11, 2, tzinfo=UTC), True)], 2, date(2026, 11, 9))
    2
    >>> unproven([RestoreProof(1, datetime(2026, 11, 2, tzinfo=UTC), False),
    ...           RestoreProof(1, datetime(2026, 11, 20, tzinfo=UTC), True)], 2,
    ...          datetime(2026, 11, 29, tzinfo=UTC))
    [2]
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from backup_drills.core.coverage import recorded, slice_for, window

_ROTATION = re.compile(r"^\*/([1-9]\d*)$")
EVIDENCE_KEY = "restore_rotation"  # where a drill records its slice in the job's evidence


def rotation(value: str) -> int:
    """t of ``"*/t"``; anything else is refused, saying what is expected.

    >>> rotation("*/8")
    8
    """
    found = _ROTATION.match(value) if isinstance(value, str) else None
    if found is None:
        raise ValueError(f"expected a rotation '*/t' (t slices, a whole number from 1), such as "
                         f"'*/8', got {value!r}")
    return int(found.group(1))


def slice_of(relative: str, slices: int) -> int:
    """The slice (1..t) of a file, by the SHA-256 of its path relative to the job's source
    (undecodable bytes as they were read), so every file is in exactly one slice, whichever tool
    listed it and whichever host drills it."""
    digest = hashlib.sha256(relative.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % slices + 1


def partition(files: Iterable[str], slices: int) -> dict[int, list[str]]:
    """Every file in its slice; each slice sorted (slices with no file are empty lists)."""
    parts: dict[int, list[str]] = {n: [] for n in range(1, slices + 1)}
    for path in files:
        parts[slice_of(path, slices)].append(path)
    return {n: sorted(paths) for n, paths in parts.items()}


@dataclass(frozen=True)
class RestoreProof:
    """One slice a drill restored, when, and whether it came back identical."""

    slice: int
    at: datetime
    passed: bool
    files: int = 0
    bytes: int = 0


def from_evidence(entry: object, slices: int) -> list[RestoreProof]:
    """The proof a ``restore_rotation`` evidence entry holds for this rotation (none when it is
    of another rotation or malformed)."""
    try:
        assert isinstance(entry, dict)
        n, t = (int(x) for x in str(entry["slice"]).split("/"))
        if t != slices or not 1 <= n <= t:
            return []
        return [RestoreProof(n, datetime.fromisoformat(str(entry["proven_at"])),
                             entry.get("passed") is True, int(entry.get("files") or 0),
                             int(entry.get("bytes") or 0))]
    except (AssertionError, KeyError, ValueError, TypeError):
        return []


def history(evidence_dir: Path, job_id: str, slices: int) -> list[RestoreProof]:
    """Every restore of this rotation that earlier drills recorded for ``job_id``, passed or
    not (``<evidence_dir>/<run>/<job_id>.json``)."""
    return [proof for entry in recorded(evidence_dir, job_id, EVIDENCE_KEY)
            for proof in from_evidence(entry, slices)]


def last_proven(proofs: Iterable[RestoreProof], slices: int) -> dict[int, RestoreProof | None]:
    """Each slice's latest passing restore (None: never)."""
    last: dict[int, RestoreProof | None] = dict.fromkeys(range(1, slices + 1))
    for proof in proofs:
        if not proof.passed or proof.slice not in last:
            continue
        seen = last[proof.slice]
        if seen is None or proof.at > seen.at:
            last[proof.slice] = proof
    return last


def due_slice(proofs: Iterable[RestoreProof], slices: int, day: date) -> int:
    """The slice this drill restores: the one whose last passing restore is oldest (never
    first); among equals, the first from this ISO week's slice on."""
    last = last_proven(proofs, slices)
    week = slice_for(day, slices)
    order = [(week - 1 + i) % slices + 1 for i in range(slices)]
    never = datetime.min.replace(tzinfo=UTC)
    return min(order, key=lambda n: (p.at if (p := last[n]) else never, order.index(n)))


def started(proofs: Iterable[RestoreProof]) -> datetime | None:
    """When the rotation's first recorded drill ran, passed or not (None: never)."""
    return min((p.at for p in proofs), default=None)


def unproven(proofs: Iterable[RestoreProof], slices: int, now: datetime) -> list[int]:
    """Slices with no passing restore within the window (t weeks and a day) before ``now``;
    none while the rotation is younger than its window (its t drills have not all come)."""
    proofs = list(proofs)
    since = now - window(slices)
    first = started(proofs)
    if first is None or first > since:
        return []
    return [n for n, p in last_proven(proofs, slices).items() if p is None or p.at < since]


class OverBudget(Exception):
    """The due slice lists more than the drill may restore: nothing was restored."""


@dataclass(frozen=True)
class Plan:
    """What one drill restores: the due ``slice`` of t, its files and a random ``sample`` of
    the others, with their listed sizes; ``tree`` the snapshot's files and bytes."""

    slice: int
    slices: int
    files: dict[str, int]
    sample: dict[str, int]
    tree_files: int
    tree_bytes: int

    @property
    def bytes(self) -> int:
        return sum(self.files.values())

    @property
    def sample_bytes(self) -> int:
        return sum(self.sample.values())

    def paths(self) -> list[str]:
        """The slice's files then the sample's, each once."""
        return [*self.files, *self.sample]


def plan(listing: Mapping[str, int], slices: int, due: int, max_bytes: int,
         max_files: int | None, sample: int, rng: secrets.SystemRandom | None = None) -> Plan:
    """The files of slice ``due`` and up to ``sample`` files of the others, drawn at random
    (``secrets``: unpredictable, fresh each drill) among those that still fit the budget.
    A slice whose listed sizes (or count) exceed the budget is ``OverBudget``, before anything
    is restored.

    >>> p = plan({"a": 1, "b": 2, "c": 3}, 1, 1, 10, None, 2)
    >>> sorted(p.files), p.bytes, p.sample
    (['a', 'b', 'c'], 6, {})
    """
    chosen = {path: size for path, size in sorted(listing.items()) if slice_of(path, slices) == due}
    size = sum(chosen.values())
    if size > max_bytes or (max_files is not None and len(chosen) > max_files):
        raise OverBudget(f"slice {due}/{slices} lists {len(chosen)} file(s), {size} bytes: over "
                         f"the budget of {max_bytes} bytes"
                         + (f" and {max_files} files" if max_files is not None else "")
                         + "; nothing was restored (a rotation with more slices, or a larger "
                         "budget, fits)")
    room, count = max_bytes - size, (None if max_files is None else max_files - len(chosen))
    others = [path for path in sorted(listing) if path not in chosen]
    (rng or secrets.SystemRandom()).shuffle(others)
    drawn: dict[str, int] = {}
    for path in others:
        if len(drawn) >= sample or (count is not None and len(drawn) >= count):
            break
        if listing[path] <= room:
            drawn[path] = listing[path]
            room -= listing[path]
    return Plan(due, slices, chosen, drawn, len(listing), sum(listing.values()))


def digest(paths: Iterable[str]) -> str:
    """SHA-256 of the sorted paths, NUL-separated: names the set of files in the evidence."""
    joined = b"\0".join(p.encode("utf-8", "surrogateescape") for p in sorted(paths))
    return hashlib.sha256(joined).hexdigest()


def fraction(part: int, whole: int) -> float:
    """``part`` of ``whole``, rounded to 4 places (0 of nothing is 0)."""
    return round(part / whole, 4) if whole else 0.0
