"""Steps for schedules.feature: systemd timers and the last run of their services."""

from __future__ import annotations

from pytest_bdd import then

from backup_drills.core.transport import Remote
from backup_drills.inventory.schema import Job
from backup_drills.outcomes import require
from backup_drills.steps.plugin.needs import needs
from backup_drills.verdicts.schedules import (
    last_run_succeeded,
    timer_armed,
    timer_next_run,
    timer_schedule_matches,
)


@then("the job's timer is enabled and active")
@needs("timer")
def _(remote: Remote, job: Job) -> None:
    """The job's ``schedule.timer`` is loaded, enabled and active."""
    require(timer_armed(remote, job))


@then("the job's next run is scheduled")
@needs("timer")
def _(remote: Remote, job: Job) -> None:
    """systemd has a next elapse time for the timer."""
    require(timer_next_run(remote, job))


@then("the timer's calendar matches the job's declared schedule")
@needs("timer")
def _(remote: Remote, job: Job) -> None:
    """Every OnCalendar= of the timer fires when the inventory's ``on_calendar`` does."""
    require(timer_schedule_matches(remote, job))


@then("the job's last run succeeded")
@needs("timer")
def _(remote: Remote, job: Job) -> None:
    """The last run of ``schedule.service`` exited successfully (systemd, else the journal)."""
    require(last_run_succeeded(remote, job))
