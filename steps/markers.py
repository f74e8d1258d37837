"""Steps for markers.feature: the runbook's JSON status markers."""

from __future__ import annotations

from pytest_bdd import then, when

from backup_drills.adapters.markers import MarkerReading
from backup_drills.core.transport import Remote
from backup_drills.inventory.schema import Job
from backup_drills.outcomes import require
from backup_drills.steps.plugin.needs import needs
from backup_drills.verdicts.markers import (
    marker_fresh,
    marker_reading,
    marker_success,
    marker_valid,
    newest_restore_test,
    no_newer_failure,
    restore_tests_passed,
)


@when("I read the job's status marker", target_fixture="marker")
@needs("marker")
def _(remote: Remote, job: Job) -> MarkerReading:
    """Read the job's JSON status marker (``marker.path``) on its host."""
    return marker_reading(remote, job)


@when("I read the job's newest restore-test result", target_fixture="marker")
@needs("restore_results")
def _(remote: Remote, job: Job) -> MarkerReading:
    """Read the newest ``*.json`` of the job's ``results`` directory (its automated restore tests)."""
    return newest_restore_test(remote, job)


@then("every restore test of the result passed")
def _(marker: MarkerReading, job: Job) -> None:
    """The result reports success, and each test it lists (``tests``) is PASS."""
    require(restore_tests_passed(marker, job))


@then("the result parses in the runbook's schema")
@then("the marker parses in the runbook's schema")
def _(marker: MarkerReading, job: Job) -> None:
    """The marker is JSON in the runbook's schema (job, status, times)."""
    require(marker_valid(marker, job))


@then("the marker reports success")
def _(marker: MarkerReading, job: Job) -> None:
    """The marker's ``status`` is ``success``."""
    require(marker_success(marker, job))


@then("the result is younger than the job's RPO")
@then("the marker is younger than the job's RPO")
def _(marker: MarkerReading, job: Job, remote: Remote) -> None:
    """The marker's last success is younger than the job's ``rpo`` (and not dated ahead of the
    host's clock); records the age."""
    require(marker_fresh(marker, job, remote))


@then("no failure marker is newer than the last success")
@needs("marker")
def _(remote: Remote, marker: MarkerReading, job: Job) -> None:
    """No ``failure_path`` marker for this job is newer than its last success."""
    require(no_newer_failure(remote, job, marker))
