"""Verdicts on a job: each check returns ``Verdict(ok, message, evidence)``; the message names
host, job and the path or unit concerned, so a failed drill tells the operator where to look.

    >>> verdict = timer_armed(remote, job)          # doctest: +SKIP
    >>> verdict.ok, verdict.message                 # doctest: +SKIP
    (False, 'host akira, job space-mirror: space-mirror.timer is not enabled (disabled), ...')
"""

from __future__ import annotations

import shlex
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from drills.clock import from_the_future, read_clock, shown
from drills.coverage import (
    SliceRead,
    from_evidence,
    last_reads,
    missing_slices,
    rotation_of,
    slice_for,
    today,
    window,
)
from drills.cron import daemon_running, entries_for, normalize
from drills.drill import RestoreOutcome
from drills.durations import human, human_seconds
from drills.inventory import Cron, Job, Metrics, Schedule
from drills.markers import MarkerReading
from drills.patterns import restic_excluded
from drills.rclone import MirrorCheck
from drills.readings import (
    FAILURE_MARKER,
    LOCKS,
    MARKER,
    METRICS,
    NEWEST_RESULT,
    SERVICE,
    SNAPSHOTS,
    TIMER,
    latest_snapshot,
)
from drills.restic import Restic, Snapshot
from drills.retention import Stamp, missing, outliving
from drills.systemd import normalize_calendar
from drills.transport import DrillCouldNotRun, Remote


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)


def who(host: Remote | str, job: Job) -> str:
    """``host akira, job space-mirror``: how every verdict begins."""
    return f"host {host if isinstance(host, str) else host.name}, job {job.name}"


def _schedule(job: Job) -> Schedule:
    if job.schedule is None:
        raise DrillCouldNotRun(f"job {job.name} declares no schedule")
    return job.schedule


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


def marker_reading(remote: Remote, job: Job) -> MarkerReading:
    return MARKER(remote, job)


def newest_restore_test(remote: Remote, job: Job) -> MarkerReading:
    return NEWEST_RESULT(remote, job)


def restore_tests_passed(reading: MarkerReading, job: Job) -> Verdict:
    """The result reports success and every automated restore test in it PASS (none is none)."""
    marker = reading.marker
    tests = marker.tests if marker else {}
    failed = sorted(name for name, outcome in tests.items() if outcome.upper() != "PASS")
    ok = marker is not None and marker.status == "success" and bool(tests) and not failed
    detail = (reading.error or "") if marker is None else (
        f"status '{marker.status}', tests " + (", ".join(f"{n} {o}" for n, o in sorted(tests.items()))
                                               or "none") + f": {marker.message}")
    return Verdict(ok, f"{who(reading.host, job)}: {reading.what} {reading.path}: {detail}"
                   + (f" (failed: {', '.join(failed)})" if failed else ""),
                   {"restore_tests": tests, "result": reading.path})


def marker_valid(reading: MarkerReading, job: Job) -> Verdict:
    return Verdict(reading.marker is not None,
                   f"{who(reading.host, job)}: {reading.what} {reading.path} "
                   f"{reading.error or 'parses'}")


def marker_success(reading: MarkerReading, job: Job) -> Verdict:
    status = reading.marker.status if reading.marker else "unreadable"
    message = reading.marker.message if reading.marker else reading.error
    return Verdict(status == "success", f"{who(reading.host, job)}: {reading.what} "
                   f"{reading.path} reports status '{status}': {message}")


def marker_fresh(reading: MarkerReading, job: Job, remote: Remote) -> Verdict:
    """The marker's run ended within the RPO, and not later than the host's clock allows."""
    age = reading.age()
    rpo = job.rpo.total_seconds()
    finished = reading.marker.finished_at if reading.marker else None
    ended = finished.isoformat() if finished else "no time"
    future = from_the_future(remote, finished)
    shown = "unknown" if age is None else human_seconds(age)
    return Verdict(age is not None and age <= rpo and future is None,
                   f"{who(reading.host, job)}: {reading.what} {reading.path} is "
                   + (f"{future}: its time cannot be trusted" if future else f"{shown} old")
                   + f", RPO {human(job.rpo)}",
                   {reading.age_key: age, "rpo_seconds": rpo,
                    "sources": {reading.age_key: f"{reading.what} {reading.path} ({ended}), "
                                                 "as found"}})


def no_newer_failure(remote: Remote, job: Job, reading: MarkerReading) -> Verdict:
    if job.marker is None or job.marker.failure_path is None:
        return Verdict(True, f"{who(remote, job)}: no failure marker declared")
    failure = FAILURE_MARKER(remote, job)
    if failure is None or not failure.exists:
        return Verdict(True, f"{who(remote, job)}: no {job.marker.failure_path}")
    success_at = reading.marker.finished_at if reading.marker else None
    failed_at = failure.marker.finished_at if failure.marker else None
    if failure.marker is None or failed_at is None:
        return Verdict(False, f"{who(remote, job)}: failure marker {failure.path} is "
                       f"{failure.error or 'missing a time'}")
    if failure.marker.job != (reading.marker.job if reading.marker else failure.marker.job):
        return Verdict(True, f"{who(remote, job)}: {failure.path} concerns job "
                       f"{failure.marker.job}")
    ok = success_at is not None and failed_at <= success_at
    return Verdict(ok, f"{who(remote, job)}: failure marker {failure.path} "
                   f"({failed_at.isoformat()}: {failure.marker.message}) is newer than the last "
                   f"success in {reading.path} ({success_at.isoformat() if success_at else 'none'})")


def restic_check(remote: Remote, job: Job, subset: str | None = None, read_all: bool = False,
                 why: str = "") -> Verdict:
    """``restic check``, reading ``subset`` of the packs (or all of them), named in the message
    with ``why`` it reads what it reads."""
    result = Restic(remote, job).check(subset, read_all=read_all)
    what = "restic check" + (" --read-data" if read_all else
                             f" --read-data-subset={subset}" if subset else "") + why
    detail = "passed" if result.passed else "failed:\n  " + "\n  ".join(result.errors[:20])
    return Verdict(result.passed, f"{who(remote, job)}: {what} of {job.repository} {detail}",
                   {"command": result.command, "check_seconds": round(result.seconds, 3)})


def restic_read_check(remote: Remote, job: Job, earlier: list[SliceRead]) -> Verdict:
    """``restic check`` reading the job's ``read_data_subset``: a percentage or a fixed ``n/t``
    as given; a rotation ``*/t`` reads this ISO week's slice, or every slice (``--read-data``)
    when no earlier drill of this rotation passed (a baseline). Records what it read."""
    slices = rotation_of(job.read_data_subset)
    if slices is None:
        checked = restic_check(remote, job, job.read_data_subset)
        read = [job.read_data_subset]
    elif earlier:
        read = [f"{slice_for(today(), slices)}/{slices}"]
        checked = restic_check(remote, job, read[0])
    else:
        checked = restic_check(remote, job, read_all=True, why=" (every slice: no earlier drill "
                               f"of the rotation */{slices} passed)")
        read = [f"{n}/{slices}" for n in range(1, slices + 1)]
    at = datetime.now(UTC).isoformat(timespec="seconds")
    return Verdict(checked.ok, checked.message, {**checked.evidence, "read_data": [
        {"slice": part, "read_at": at, "passed": checked.ok} for part in read]})


def every_pack_read(job: Job, host: str, earlier: list[SliceRead], now_read: object) -> Verdict:
    """Every slice of the job's rotation was read by a passing check within the last t weeks
    (the history of earlier drills and this run's own read)."""
    slices = rotation_of(job.read_data_subset)
    if slices is None:
        return Verdict(False, f"{who(host, job)}: read_data_subset {job.read_data_subset} "
                       "reads packs at random: no history proves every pack was read; declare a "
                       "rotation such as '*/4'")
    reads = earlier + from_evidence(now_read, slices)
    now = datetime.now(UTC)
    gaps = missing_slices(reads, slices, now)
    last = last_reads(reads, slices)
    lines = [f"slice {n}/{slices}: last read {when.isoformat(timespec='seconds') if when else 'never'}"
             for n, when in last.items()]
    return Verdict(not gaps, f"{who(host, job)}: every pack of {job.repository} read within the "
                   f"last {human(window(slices))}: " + (f"slice(s) {', '.join(map(str, gaps))} "
                                                        "of the rotation not read since "
                   f"{(now - window(slices)).isoformat(timespec='seconds')}" if gaps else "yes")
                   + "".join(f"\n  {line}" for line in lines),
                   {"read_coverage_gaps": gaps})


def _from_the_future(remote: Remote, snapshots: list[Snapshot]) -> list[str]:
    """``snapshot 93bb9d28 (...) is dated 365d ahead of motoko's clock (...)``, one per snapshot
    dated beyond the host's ``max_clock_skew``."""
    return [f"snapshot {s.short_id} ({s.time.isoformat()}) is {why}" for s in snapshots
            if (why := from_the_future(remote, s.time))]


def snapshot_fresh(remote: Remote, job: Job) -> Verdict:
    """The newest snapshot is younger than the RPO, and no snapshot is dated ahead of the host's
    clock (restic's ``forget`` would count its keep rules from it)."""
    snapshots = SNAPSHOTS(remote, job)
    rpo = job.rpo.total_seconds()
    if not snapshots:
        return Verdict(False, f"{who(remote, job)}: no snapshot of {job.source} in "
                       f"{job.repository}", {"rpo_seconds": rpo})
    future = _from_the_future(remote, snapshots)
    latest = snapshots[-1]
    age = latest.age()
    return Verdict(age <= rpo and not future, f"{who(remote, job)}: latest snapshot "
                   f"{latest.short_id} of {job.source} in {job.repository} is "
                   f"{human_seconds(age)} old ({latest.time.isoformat()}), RPO {human(job.rpo)}"
                   + "".join(f"\n  {line}" for line in future),
                   {"snapshot_age_seconds": round(age, 1), "rpo_seconds": rpo,
                    "sources": {"snapshot_age_seconds": f"snapshot {latest.short_id} "
                                                        f"({latest.time.isoformat()}), as found"}})


def no_stale_locks(remote: Remote, job: Job) -> Verdict:
    now = datetime.now(UTC)
    stale = []
    for found in LOCKS(remote, job):
        lock, dead = found.lock, found.holder_gone
        age = (now - lock.time).total_seconds()
        if dead or age > job.stale_lock_age.total_seconds():
            why = f"process {lock.pid} on {lock.hostname} is gone" if dead else \
                f"{human_seconds(age)} old"
            stale.append(f"lock {lock.id[:8]} ({'exclusive' if lock.exclusive else 'shared'}, "
                         f"{why})")
    return Verdict(not stale, f"{who(remote, job)}: {job.repository} has "
                   f"{len(stale)} stale lock(s)" + "".join(f"\n  {s}" for s in stale),
                   {"stale_locks": len(stale)})



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


def restore_identical(outcome: RestoreOutcome) -> Verdict:
    """Identical per DESIGN principle 2, and not vacuously: something must have been compared."""
    comparison = outcome.comparison
    ok = comparison.identical and comparison.compared > 0
    message = comparison.describe()
    if comparison.compared == 0 and comparison.identical:
        message += "\n  nothing was restored to compare"
    return Verdict(ok, message, outcome.evidence())


class Timed(Protocol):
    """A restore judged against the RTO (a tree restore or a database restore)."""

    job: Job
    host: str
    drill_seconds: float

    def evidence(self) -> dict[str, object]: ...


def within_rto(outcome: Timed) -> Verdict:
    job = outcome.job
    if job.rto is None:
        return Verdict(False, f"{who(outcome.host, job)}: no RTO declared")
    what = getattr(outcome, "what", ".")
    return Verdict(outcome.drill_seconds <= job.rto.total_seconds(),
                   f"{who(outcome.host, job)}: restore of {job.source if what == '.' else what} took "
                   f"{human_seconds(outcome.drill_seconds)} (restore and verify), "
                   f"RTO {human(job.rto)}", outcome.evidence())


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


def retention_conforms(remote: Remote, job: Job) -> Verdict:
    """The job's snapshots against its retention policy, computed from the list alone: every
    promised day, week and month where history exists, and nothing the policy does not keep."""
    if job.retention is None:
        return Verdict(False, f"{who(remote, job)}: declares no retention policy")
    snapshots = SNAPSHOTS(remote, job)
    stamps = [Stamp(s.short_id, s.time) for s in snapshots]
    problems = [f"{line}: restic forget counts its keep rules from it"
                for line in _from_the_future(remote, snapshots)]
    problems += missing(stamps, job.retention) + outliving(stamps, job.retention)
    detail = "".join(f"\n  {p}" for p in problems[:30])
    return Verdict(not problems,
                   f"{who(remote, job)}: {len(snapshots)} snapshot(s) of {job.source} in "
                   f"{job.repository} against the policy ({job.retention.describe()}): "
                   f"{len(problems)} violation(s){detail}",
                   {"snapshots": len(snapshots), "retention": job.retention.describe(),
                    "violations": len(problems)})


def credentials_private(remote: Remote, job: Job) -> Verdict:
    """The host's credentials file exists, belongs to ``credentials_owner`` and is readable by
    its owner alone (mode 0600 or stricter), as the runbook requires."""
    path, owner = remote.host.credentials_env, remote.host.credentials_owner
    if path is None:
        return Verdict(False, f"{who(remote, job)}: the host declares no credentials_env")
    found = remote.run(f"stat -c '%a %U' {shlex.quote(path)}")
    if not found.ok:
        return Verdict(False, f"{who(remote, job)}: credentials file {path} is missing "
                              f"({found.tail(1)})")
    mode_text, user = found.text.split()
    mode = f"{int(mode_text, 8):04o}"
    problems = ([f"mode {mode} lets group or others in"] if int(mode_text, 8) & 0o077 else []) + (
        [f"owned by {user}, not {owner}"] if user != owner else [])
    return Verdict(not problems,
                   f"{who(remote, job)}: credentials file {path} is "
                   f"{'; '.join(problems) or f'mode {mode}, owned by {user}'}",
                   {"credentials_file": path, "mode": mode, "owner": user})


def endpoints_answer(remote: Remote, job: Job) -> Verdict:
    """Each of the job's endpoints, asked from the job's host without credentials, answers with
    its expected HTTP status (``000``: no answer within 10 s)."""
    problems, seen = [], {}
    for endpoint in job.endpoints or ():
        answer = remote.run(f"curl -s -o /dev/null -w '%{{http_code}}' --max-time 10 "
                            f"{shlex.quote(endpoint.url)}", timeout=30, privileged=False)
        status = answer.text.strip() or "000"
        seen[endpoint.url] = status
        if status != str(endpoint.status):
            problems.append(f"{endpoint.name or endpoint.url} ({endpoint.url}) answered {status}, "
                            f"expected {endpoint.status}")
    detail = "".join(f"\n  {p}" for p in problems)
    return Verdict(not problems, f"{who(remote, job)}: {len(seen) - len(problems)} of {len(seen)} "
                                 f"endpoint(s) answer as expected{detail}", {"endpoints": seen})


def sample_listed(remote: Remote, job: Job) -> Verdict:
    """``restic find`` locates the job's sample file in the latest snapshot, as a file of the
    size the source file has now (runbook: "listing and finding files in a snapshot")."""
    if job.samples is None:
        raise DrillCouldNotRun(f"job {job.name} declares no samples (file, directory) to look for")
    restic = Restic(remote, job)
    latest = latest_snapshot(remote, job)
    path = f"{job.source}/{job.samples.file}"
    if latest is None:
        return Verdict(False, f"{who(remote, job)}: no snapshot of {job.source} to look in")
    matches = [m for m in restic.find(latest, path) if m.get("path") == path]
    size = remote.run(f"stat -c %s {shlex.quote(path)}")
    where = f"{who(remote, job)}: {path} in snapshot {latest.short_id}"
    if not matches:
        return Verdict(False, f"{where}: not found by `restic find`",
                       {"sample_snapshot_id": latest.short_id, "path": path})
    listed = matches[0]
    ok = listed.get("type") == "file" and (not size.ok or str(listed.get("size")) == size.text.strip())
    return Verdict(ok, f"{where}: listed as {listed.get('type')} of {listed.get('size')} bytes "
                       f"(source: {size.text.strip() if size.ok else 'gone'})",
                   {"sample_snapshot_id": latest.short_id, "path": path, "size": listed.get("size")})


def _cron(job: Job) -> Cron:
    if job.cron is None:
        raise DrillCouldNotRun(f"job {job.name} declares no cron entry")
    return job.cron


def cron_daemon_runs(remote: Remote, job: Job) -> Verdict:
    running = daemon_running(remote)
    return Verdict(running, f"{who(remote, job)}: the cron daemon is "
                   f"{'running' if running else 'not running: no cron entry will fire'}")


def cron_entry_matches(remote: Remote, job: Job) -> Verdict:
    """A line of the job's cron file runs its command on the declared schedule."""
    cron = _cron(job)
    entries = entries_for(remote, cron)
    if not entries:
        return Verdict(False, f"{who(remote, job)}: no line in {cron.file} runs {cron.command}",
                       {"cron_file": cron.file})
    declared = normalize(cron.schedule)
    lines = [f"{e.file}:{e.line} runs '{e.command}' as {e.user} on '{e.schedule}'" for e in entries]
    ok = any(normalize(e.schedule) == declared for e in entries)
    return Verdict(ok, f"{who(remote, job)}: {'; '.join(lines)}; the inventory declares "
                   f"'{cron.schedule}'", {"cron_entries": lines, "declared": cron.schedule})


def _metrics(job: Job) -> Metrics:
    if job.metrics is None:
        raise DrillCouldNotRun(f"job {job.name} declares no metrics")
    return job.metrics


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
    if metrics.max_duration is None:
        raise DrillCouldNotRun(f"job {job.name} declares no metrics.max_duration")
    values = METRICS(remote, job)
    took, limit = values.get(metrics.duration), metrics.max_duration.total_seconds()
    shown = "absent" if took is None else human_seconds(took)
    return Verdict(took is not None and took <= limit,
                   f"{who(remote, job)}: {metrics.duration} at {metrics.where} is {shown}, "
                   f"maximum {human(metrics.max_duration)}",
                   {"backup_duration_seconds": took, "max_duration_seconds": limit})


def nothing_vanished(remote: Remote, job: Job) -> Verdict:
    """``restic diff`` of the two newest snapshots: every file it lists as removed is gone from
    the source too, or changed after the newest snapshot; a file still there, unchanged since
    before that snapshot and not excluded, vanished from the backup (a grown exclude, a
    permission the backup lost)."""
    restic = Restic(remote, job)
    snapshots = SNAPSHOTS(remote, job)
    if len(snapshots) < 2:
        return Verdict(True, f"{who(remote, job)}: fewer than two snapshots, nothing to compare")
    older, newer = snapshots[-2], snapshots[-1]
    removed = [path for change, path in restic.diff(older, newer)
               if change == "-" and not path.endswith("/")]
    source = str(job.source).rstrip("/")
    candidates = [p for p in removed if p.startswith(source + "/")
                  and not restic_excluded(p, job.excludes)]
    still = _mtimes(remote, candidates)
    vanished = sorted(p for p, mtime in still.items() if mtime < newer.time.timestamp())
    return Verdict(not vanished,
                   f"{who(remote, job)}: `restic diff {older.short_id} {newer.short_id}`: "
                   f"{len(removed)} file(s) removed, {len(vanished)} of them still in the source "
                   "unchanged since before the newest snapshot"
                   + "".join(f"\n  {p}" for p in vanished[:25])
                   + (f"\n  ... and {len(vanished) - 25} more" if len(vanished) > 25 else ""),
                   {"diff": f"{older.short_id}..{newer.short_id}", "removed": len(removed),
                    "vanished": len(vanished)})


SHRINK_WINDOW = 7  # earlier snapshots whose median the newest is measured against


def snapshot_not_shrunk(remote: Remote, job: Job) -> Verdict:
    """The newest snapshot holds at least ``shrink_ratio`` of the median file count and size of
    the (up to seven) snapshots before it: the backup of a source that was not mounted fails
    here even when the sample file happens to survive."""
    snapshots = SNAPSHOTS(remote, job)
    if len(snapshots) < 2:
        return Verdict(True, f"{who(remote, job)}: fewer than two snapshots, nothing to compare")
    restic = Restic(remote, job)
    newest, earlier = snapshots[-1], snapshots[-1 - SHRINK_WINDOW:-1]
    size, files = restic.restore_stats(newest)
    sizes, counts = zip(*(restic.restore_stats(s) for s in earlier), strict=True)
    median_size, median_files = statistics.median(sizes), statistics.median(counts)
    ratio = job.shrink_ratio
    problems = [f"{what}: {got:,} against a median of {median:,.0f} (less than {ratio:.0%})"
                for what, got, median in (("files", files, median_files),
                                          ("bytes", size, median_size)) if got < ratio * median]
    return Verdict(not problems,
                   f"{who(remote, job)}: newest snapshot {newest.short_id} of {job.source} holds "
                   f"{files:,} files, {size:,} bytes; the {len(earlier)} before it a median of "
                   f"{median_files:,.0f} files, {median_size:,.0f} bytes"
                   + "".join(f"\n  shrunk: {p}" for p in problems),
                   {"newest_files": files, "newest_bytes": size,
                    "median_files": median_files, "median_bytes": median_size,
                    "sources": {"newest_files": f"snapshot {newest.short_id}, as found"}})


def _mtimes(remote: Remote, paths: list[str]) -> dict[str, float]:
    """Modification times of those of ``paths`` that exist on the host (in batches)."""
    found: dict[str, float] = {}
    for start in range(0, len(paths), 200):
        batch = " ".join(shlex.quote(p) for p in paths[start:start + 200])
        listed = remote.run(f"stat -c '%Y %n' -- {batch} 2>/dev/null || true", timeout=120)
        for line in listed.text.splitlines():
            mtime, _, path = line.partition(" ")
            if mtime.isdigit():
                found[path] = float(mtime)
    return found
