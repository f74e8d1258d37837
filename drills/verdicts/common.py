"""Verdicts every job shares: the host's clock against the runner's."""

from __future__ import annotations

from backup_drills.core.clock import read_clock, shown
from backup_drills.core.durations import human
from backup_drills.core.transport import Remote
from backup_drills.inventory.schema import Job
from backup_drills.verdicts.verdict import Verdict, who


def clock_agrees(remote: Remote, job: Job) -> Verdict:
    """The host's clock is within its ``max_clock_skew`` of the runner's (measured at drill
    start, once per host)."""
    clock, bound = read_clock(remote), remote.host.max_clock_skew
    skew = clock.skew_seconds
    direction = "ahead of" if skew > 0 else "behind"
    return Verdict(abs(skew) <= bound.total_seconds(),
                   f"{who(remote, job)}: {remote.name}'s clock read "
                   f"{clock.host_time.isoformat(timespec='seconds')} when the runner's read "
                   f"{clock.runner_time.isoformat(timespec='seconds')}: {shown(skew)} "
                   f"{direction} it, allowed {human(bound)}",
                   {"clock_skew_seconds": round(skew, 3),
                    "sources": {"clock_skew_seconds": f"`date` on {remote.name} against the "
                                                      "runner's clock, at drill start"}})
