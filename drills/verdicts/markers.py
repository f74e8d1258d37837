"""Verdicts on JSON status markers and restore-test results: valid, successful, fresh, no
newer failure."""

from __future__ import annotations

from backup_drills.adapters.markers import MarkerReading
from backup_drills.adapters.readings import (
    FAILURE_MARKER,
    MARKER,
    NEWEST_RESULT,
)
from backup_drills.core.clock import from_the_future
from backup_drills.core.durations import human, human_seconds
from backup_drills.core.transport import Remote
from backup_drills.inventory.schema import Job
from backup_drills.verdicts.verdict import Verdict, who


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
                   {"restore_tests": tests, "result": reading.path, **_warned(reading)})


def _warned(reading: MarkerReading) -> dict[str, str]:
    """The evidence of a warning about the file's folder (``backup_drills.core.hostfile``), if any."""
    return {"warning": reading.warning} if reading.warning else {}


def marker_valid(reading: MarkerReading, job: Job) -> Verdict:
    return Verdict(reading.marker is not None,
                   f"{who(reading.host, job)}: {reading.what} {reading.path} "
                   f"{reading.error or 'parses'}"
                   + (f" (warning: {reading.warning})" if reading.warning else ""), _warned(reading))


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
                                                 "as found"}, **_warned(reading)})


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
