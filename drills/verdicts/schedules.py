"""Verdicts on systemd timers: armed, scheduled, on the declared calendar, last run succeeded.

    >>> verdict = timer_armed(remote, job)          # doctest: +SKIP
    >>> verdict.ok, verdict.message                 # doctest: +SKIP
    (False, 'host akira, job space-mirror: space-mirror.timer is not enabled (disabled), ...')
"""

from __future__ import annotations

from datetime import UTC, datetime

from backup_drills.adapters.readings import (
    SERVICE,
    TIMER,
)
from backup_drills.adapters.systemd import CALENDAR_ITERATIONS, calendar_firings
from backup_drills.core.calendars import compare_calendars
from backup_drills.core.transport import Remote, declared
from backup_drills.inventory.schema import Job, Schedule
from backup_drills.verdicts.verdict import Verdict, who


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
    """Every ``OnCalendar=`` of the timer, together, fires when the runbook's expressions do:
    compared by their next firings as the host's ``systemd-analyze calendar`` computes them
    (``daily`` = ``*-*-* 00:00:00`` = ``00:00 UTC`` on a UTC host), not by their text. A line
    the runbook does not state, or a stated one the timer lacks, is named."""
    schedule = _schedule(job)
    timer = TIMER(remote, job)
    running, stated = timer.calendars, schedule.calendars
    shown = ", ".join(f"'{c}'" for c in running) or "'no calendar'"
    if not running:
        return Verdict(False, f"{who(remote, job)}: {timer.unit} runs on {shown}, the inventory "
                       f"declares {', '.join(repr(c) for c in stated)}",
                       {"on_calendar": [], "declared": list(stated)})
    firings = calendar_firings(remote, [*running, *stated])
    on_timer, on_runbook = firings[:len(running)], firings[len(running):]
    result = compare_calendars(on_timer, on_runbook)
    declared_text = ", ".join(f"'{c.original}' ({c.normalized})" for c in on_runbook)
    until = (f"up to {result.horizon:%Y-%m-%d %H:%M} UTC" if result.horizon
             else "all their firings")
    message = f"{who(remote, job)}: {timer.unit} runs on {shown}, the inventory declares {declared_text}"
    if result.same:
        message += f": the same firings ({CALENDAR_ITERATIONS} of each compared, {until})"
    else:
        named = [f"OnCalendar={c.original} is not stated by the inventory" for c in result.extra]
        named += [f"'{c.original}' ({c.normalized}) is declared but the timer does not fire then"
                  for c in result.missing]
        first = result.first_difference
        message += "; " + "; ".join(named or ["they fire at other times"])
        if first is not None:
            message += f" (first difference {first:%Y-%m-%d %H:%M:%S} UTC)"
    return Verdict(result.same, message,
                   {"on_calendar": list(running), "declared": [c.normalized for c in on_runbook],
                    "not_stated": [c.original for c in result.extra],
                    "not_on_timer": [c.original for c in result.missing],
                    "compared_until": result.horizon.isoformat() if result.horizon else None})


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
