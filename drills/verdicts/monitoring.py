"""Verdicts on cron entries and backup metrics: daemon, schedule, success, freshness, duration."""

from __future__ import annotations

from datetime import UTC, datetime

from backup_drills.adapters.cron import CronEntry, daemon_running, entries_for
from backup_drills.adapters.readings import (
    METRICS,
)
from backup_drills.core.calendars import CronTimes, ScheduleError, cron_times, first_difference
from backup_drills.core.clock import from_the_future
from backup_drills.core.durations import human, human_seconds
from backup_drills.core.transport import DrillCouldNotRun, Remote, declared
from backup_drills.inventory.schema import Cron, Job, Metrics
from backup_drills.verdicts.verdict import Verdict, who


def _cron(job: Job) -> Cron:
    return declared(job, job.cron, "cron entry")


def cron_daemon_runs(remote: Remote, job: Job) -> Verdict:
    running = daemon_running(remote)
    return Verdict(running, f"{who(remote, job)}: the cron daemon is "
                   f"{'running' if running else 'not running: no cron entry will fire'}")


def cron_entry_matches(remote: Remote, job: Job) -> Verdict:
    """A line of the job's cron file runs its command when the declared schedule fires: the
    same times, however written (``0 2 * * 1-5`` = ``00 02 * * mon-fri``, ``@daily`` =
    ``0 0 * * *``; :mod:`backup_drills.core.calendars` says why the comparison is exact). A line under
    a ``CRON_TZ=`` is not judged: cronie runs it in that zone, Debian's cron in the host's."""
    cron = _cron(job)
    entries = entries_for(remote, cron)
    if not entries:
        return Verdict(False, f"{who(remote, job)}: no line in {cron.file} runs {cron.command}",
                       {"cron_file": cron.file})
    try:
        wanted = cron_times(cron.schedule)
    except ScheduleError as exc:
        raise DrillCouldNotRun(f"{who(remote, job)}: the inventory's cron schedule: {exc}") from exc
    zoned = [e for e in entries if e.cron_tz is not None]
    if zoned:
        raise DrillCouldNotRun(
            f"{who(remote, job)}: " + "; ".join(
                f"{e.file}:{e.line} runs under CRON_TZ={e.cron_tz[1]} (line {e.cron_tz[0]})"
                for e in zoned if e.cron_tz) +
            ": cronie runs it in that zone, Debian's cron in the host's; the drill cannot tell "
            "which zone the inventory's schedule means, so it does not judge it")
    lines, ok = [], False
    for entry in entries:
        judged = _judge_entry(entry, cron.schedule, wanted)
        ok = ok or judged is None
        lines.append(f"{entry.file}:{entry.line} runs '{entry.command}' as {entry.user} on "
                     f"'{entry.schedule}'" + (f" ({judged})" if judged else ""))
    same = "; the same times" if ok else ""
    return Verdict(ok, f"{who(remote, job)}: {'; '.join(lines)}; the inventory declares "
                   f"'{cron.schedule}'{same}", {"cron_entries": lines, "declared": cron.schedule})


def _judge_entry(entry: CronEntry, declared_schedule: str, wanted: CronTimes) -> str | None:
    """None if the entry fires when the declared schedule does; else what differs."""
    try:
        times = cron_times(entry.schedule)
    except ScheduleError as exc:
        return f"not a schedule Debian's cron runs: {exc}"
    if times == wanted:
        return None
    now = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)
    found = first_difference(entry.schedule, declared_schedule, now)
    if found is None:
        return "fires at other times"
    when, side = found
    only = "only this line fires" if side == 0 else "only the declared schedule fires"
    return f"fires at other times: e.g. at {when:%Y-%m-%d %H:%M} on cron's clock {only}"


def _metrics(job: Job) -> Metrics:
    return declared(job, job.metrics, "metrics")


def metrics_report_success(remote: Remote, job: Job) -> Verdict:
    """The job's success metric is present and 1."""
    metrics = _metrics(job)
    values = METRICS(remote, job)
    name = metrics.success
    value = values.get(name)
    where = f"{metrics.where} {metrics.labels or ''}".strip()
    return Verdict(value == 1, f"{who(remote, job)}: {name} at {where} is "
                   f"{'absent' if value is None else f'{value:g}'}, expected 1",
                   {"metrics": values})


def metrics_fresh(remote: Remote, job: Job) -> Verdict:
    """The job's timestamp metric says its last backup is younger than the RPO."""
    metrics = _metrics(job)
    values = METRICS(remote, job)
    name, rpo = metrics.timestamp, job.rpo.total_seconds()
    stamp = values.get(name)
    age = None if stamp is None else datetime.now(UTC).timestamp() - stamp
    future = None if stamp is None else from_the_future(remote, datetime.fromtimestamp(stamp, UTC))
    shown = "absent" if age is None else future or f"{human_seconds(age)} old"
    return Verdict(age is not None and age <= rpo and future is None,
                   f"{who(remote, job)}: {name} at {metrics.where} is {shown}, RPO {human(job.rpo)}",
                   {"metrics_age_seconds": age, "rpo_seconds": rpo,
                    "sources": {"metrics_age_seconds": f"{name} at {metrics.where}, as found"}})


def metrics_duration_bounded(remote: Remote, job: Job) -> Verdict:
    """The job's duration metric is present and no longer than its ``max_duration`` alert."""
    metrics = _metrics(job)
    max_duration = declared(job, metrics.max_duration, "metrics.max_duration")
    values = METRICS(remote, job)
    took, limit = values.get(metrics.duration), max_duration.total_seconds()
    shown = "absent" if took is None else human_seconds(took)
    return Verdict(took is not None and took <= limit,
                   f"{who(remote, job)}: {metrics.duration} at {metrics.where} is {shown}, "
                   f"maximum {human(max_duration)}",
                   {"backup_duration_seconds": took, "max_duration_seconds": limit})
