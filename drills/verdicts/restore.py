"""Verdicts on restores into scratch and on mirrors: byte-identical, in sync."""

from __future__ import annotations

from datetime import UTC, datetime

from drills.adapters.rclone import MirrorCheck
from drills.core.transport import Remote
from drills.inventory.schema import Job
from drills.restores.trees import RestoreOutcome
from drills.verdicts.markers import marker_reading
from drills.verdicts.verdict import Verdict, who


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
