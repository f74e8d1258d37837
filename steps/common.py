"""Steps shared by every feature."""

from __future__ import annotations

from pytest_bdd import given, then

from backup_drills.core.transport import Remote
from backup_drills.inventory.schema import Job
from backup_drills.outcomes import require
from backup_drills.verdicts.common import clock_agrees


@given("the job's host answers")
def _(remote: Remote) -> None:
    """The host answered the up-front probe; else the scenario reports it unreachable, by name."""


@then("the host's clock is within the allowed skew of the runner's")
def _(remote: Remote, job: Job) -> None:
    """The host's clock, read at drill start, is within its ``max_clock_skew`` (default 5m) of
    the runner's; records the skew."""
    require(clock_agrees(remote, job))
