"""Verdicts on restores into scratch and on mirrors: byte-identical, in sync."""

from __future__ import annotations

from datetime import UTC, datetime

from backup_drills.adapters.rclone import MirrorCheck
from backup_drills.core.coverage import window
from backup_drills.core.durations import human
from backup_drills.core.restore_rotation import (
    EVIDENCE_KEY,
    RestoreProof,
    fraction,
    from_evidence,
    last_proven,
    started,
    unproven,
)
from backup_drills.core.transport import Remote
from backup_drills.inventory.schema import Job
from backup_drills.restores.rotation import RotationOutcome
from backup_drills.restores.trees import RestoreOutcome
from backup_drills.verdicts.markers import marker_reading
from backup_drills.verdicts.verdict import Verdict, who


def restore_identical(outcome: RestoreOutcome) -> Verdict:
    """Identical per DESIGN principle 2, and not vacuously: something must have been compared."""
    comparison = outcome.comparison
    ok = comparison.identical and comparison.compared > 0
    message = comparison.describe()
    if comparison.compared == 0 and comparison.identical:
        message += "\n  nothing was restored to compare"
    return Verdict(ok, message, outcome.evidence())


def mirror_since(remote: Remote, job: Job) -> datetime:
    """When the mirror last started syncing: files changed after it are reported, not failed."""
    reading = marker_reading(remote, job) if job.marker else None
    marker = reading.marker if reading else None
    return (marker.started_at or marker.finished_at or datetime.now(UTC)) if marker \
        else datetime.now(UTC)


def mirror_in_sync(check: MirrorCheck, remote: Remote, job: Job) -> Verdict:
    return Verdict(not check.differences,
                   f"{who(remote, job)}: `{check.command}` found {len(check.differences)} "
                   "difference(s)" + "".join(f"\n  {d}" for d in check.differences[:25]),
                   {"command": check.command, "entries_checked": check.compared,
                    "check_seconds": round(check.seconds, 3)})


def rotation_restored(outcome: RotationOutcome) -> Verdict:
    """The due slice and the sample came back identical to the source (a file changed since
    the snapshot is reported); a slice over the budget is named, with its files and bytes."""
    head = (f"{who(outcome.host, outcome.job)}: restore rotation slice {outcome.due}/"
            f"{outcome.slices} of snapshot {outcome.snapshot.short_id} "
            f"({outcome.snapshot.time.isoformat()})")
    if outcome.over_budget:
        return Verdict(False, f"{head}: {outcome.over_budget}", outcome.evidence())
    assert outcome.plan is not None
    assert outcome.comparison is not None
    p, c = outcome.plan, outcome.comparison
    proven = outcome.evidence()[EVIDENCE_KEY]
    assert isinstance(proven, dict)
    share = proven["proven_this_run"]
    message = (f"{head}: {len(p.files)} file(s), {p.bytes} bytes of the slice and {len(p.sample)} "
               f"sampled, {p.sample_bytes} bytes; {share['files']:.2%} of the tree's {p.tree_files} "
               f"files and {share['bytes']:.2%} of its {p.tree_bytes} bytes this run\n"
               + c.describe())
    if c.compared == 0 and c.identical:
        message += "\n  nothing was restored to compare"
    return Verdict(outcome.passed, message, outcome.evidence())


def every_file_restored(job: Job, host: str, earlier: list[RestoreProof], now_entry: object,
                        now: datetime | None = None) -> Verdict:
    """Every slice of the job's restore rotation came back identical within the last t weeks
    (earlier drills' evidence and this run's): else the slices named, with when each was last
    proven; and the fraction of the tree (files, bytes) proven within the window."""
    slices = job.restore_rotation
    if slices is None:
        return Verdict(False, f"{who(host, job)}: declares no restore_coverage rotation")
    now = now or datetime.now(UTC)
    proofs = earlier + from_evidence(now_entry, slices)
    gaps = unproven(proofs, slices, now)
    last = last_proven(proofs, slices)
    tree = now_entry.get("tree") if isinstance(now_entry, dict) else None
    files = sum(p.files for p in last.values() if p and p.slice not in gaps)
    size = sum(p.bytes for p in last.values() if p and p.slice not in gaps)
    within: dict[str, object] = {"files": files, "bytes": size}
    if isinstance(tree, dict):
        within |= {"files_fraction": fraction(files, tree["files"]),
                   "bytes_fraction": fraction(size, tree["bytes"])}
    whole = (f"; within the window {files} files and {size} bytes proven, "
             f"{within['files_fraction']:.2%} and {within['bytes_fraction']:.2%} of "
             f"the latest snapshot's tree" if isinstance(tree, dict) else "")
    lines = [f"slice {n}/{slices}: last restored identical "
             f"{p.at.isoformat(timespec='seconds') if p else 'never'}" for n, p in last.items()]
    since = (now - window(slices)).isoformat(timespec="seconds")
    first, waiting = started(proofs), [n for n, p in last.items() if p is None]
    young = (f"yes so far: the rotation began {first.isoformat(timespec='seconds')}, slice(s) "
             f"{', '.join(f'{n}/{slices}' for n in waiting)} due by "
             f"{(first + window(slices)).isoformat(timespec='seconds')}"
             if first is not None and waiting and not gaps else "yes")
    return Verdict(not gaps, f"{who(host, job)}: every file of {job.source} restored within the "
                   f"last {human(window(slices))}: "
                   + (f"slice(s) {', '.join(f'{n}/{slices}' for n in gaps)} of the rotation not "
                      f"restored since {since}" if gaps else young) + whole
                   + "".join(f"\n  {line}" for line in lines),
                   {"restore_coverage_gaps": gaps, "restore_coverage_window": within})
