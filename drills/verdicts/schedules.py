"""Verdicts on systemd timers: armed, scheduled, on the declared calendar, last run succeeded.

    >>> verdict = timer_armed(remote, job)          # doctest: +SKIP
    >>> verdict.ok, verdict.message                 # doctest: +SKIP
    (False, 'host akira, job space-mirror: space-mirror.timer is not enabled (disabled), ...')
"""

from __future__ import annotations

from datetime import UTC, datetime

from drills.adapters.readings import (
    SERVICE,
    TIMER,
)
from drills.adapters.systemd import normalize_calendar
from drills.core.transport import Remote, declared
from drills.inventory.schema import Job, Schedule
from drills.verdicts.verdict import Verdict, who


def _schedule(job: Job) -> Schedule:
    return declared(job, job.schedule, "schedule")


def timer_armed(remote: Remote, job: Job) -> Verdict:
    timer = TIMER(remote, job)  # a job without a schedule could not run (the reading says so)
    problems = [text for bad, text in ((not timer.loaded, "not installed"),
                                       (not timer.enabled, "not enabled"),
                                       (not timer.active, "not active")) if bad]
    return Verdict(not problems, f"{who(remote, job)}: {timer.unit} is "
                   f"{', '.join(problems) or 'enabled and active'}", {"timer": timer.unit})


def timer_next_run(remote: Remote, job: Job) -> Verdict:
    timer = TIMER(remote, job)  # a job without a schedule could not run (the reading says so)
    now = datetime.now(UTC)
    ok = timer.next_run is not None and timer.next_run > now
    when = timer.next_run.isoformat() if timer.next_run else "none"
    return Verdict(ok, f"{who(remote, job)}: {timer.unit} next run: {when}",
                   {"next_run": when})


def timer_schedule_matches(remote: Remote, job: Job) -> Verdict:
    schedule = _schedule(job)
    timer = TIMER(remote, job)
    declared = normalize_calendar(remote, schedule.on_calendar)
    return Verdict(timer.on_calendar == declared,
                   f"{who(remote, job)}: {timer.unit} runs on '{timer.on_calendar or 'no calendar'}'"
                   f", the inventory declares '{schedule.on_calendar}' ({declared})",
                   {"on_calendar": timer.on_calendar, "declared": declared})


def last_run_succeeded(remote: Remote, job: Job) -> Verdict:
    service = SERVICE(remote, job)  # as TIMER: could not run without a schedule
    ended = service.last_exit.isoformat() if service.last_exit else "never"
    if not service.has_run:
        return Verdict(False, f"{who(remote, job)}: {service.unit} has no recorded run, neither "
                       "in systemd's unit state nor in the journal", {"service": service.unit})
    return Verdict(service.succeeded,
                   f"{who(remote, job)}: last run of {service.unit} ended {ended} with result "
                   f"'{service.result}', exit status {service.exit_status} (from {service.source})",
                   {"service": service.unit, "result": service.result, "last_exit": ended,
                    "read_from": service.source})
