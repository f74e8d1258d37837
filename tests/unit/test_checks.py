import json
import os
from datetime import UTC, datetime, timedelta

import pytest

from backup_drills.adapters.markers import read_marker
from backup_drills.core.run import DrillRun
from backup_drills.inventory.schema import Job
from backup_drills.verdicts.markers import (
    marker_fresh,
    marker_reading,
    marker_success,
    marker_valid,
    newest_restore_test,
    no_newer_failure,
    restore_tests_passed,
)


def when(hours_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours_ago)).isoformat(timespec="seconds")


@pytest.fixture
def markers(tmp_path):
    def write(name: str, doc: object) -> str:
        path = tmp_path / name
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
        return str(path)

    return write


def job_with(tmp_path) -> Job:
    return Job.model_validate(
        {
            "name": "space-mirror",
            "host": "runner",
            "kind": "rclone-mirror",
            "source": "/space",
            "destination": "r:b",
            "rpo": "26h",
            "marker": {
                "path": str(tmp_path / "b2_mirror.json"),
                "failure_path": str(tmp_path / "last_failure.json"),
            },
        }
    )


def success(hours_ago: float) -> dict:
    return {
        "job": "b2_mirror",
        "host": "akira",
        "status": "success",
        "message": "ok",
        "started_at": when(hours_ago + 1),
        "completed_at": when(hours_ago),
    }


def test_a_fresh_success_passes_every_marker_check(local, tmp_path, markers):
    markers("b2_mirror.json", success(2))
    job = job_with(tmp_path)
    reading = marker_reading(local, job)
    for verdict in (
        marker_valid(reading, job),
        marker_success(reading, job),
        marker_fresh(reading, job, local),
        no_newer_failure(local, job, reading),
    ):
        assert verdict.ok, verdict.message


def test_an_old_marker_fails_freshness_naming_host_job_path_and_rpo(local, tmp_path, markers):
    path = markers("b2_mirror.json", success(30))
    job = job_with(tmp_path)
    verdict = marker_fresh(marker_reading(local, job), job, local)
    assert not verdict.ok
    assert verdict.message.startswith(f"host runner, job space-mirror: marker {path} is 30h")
    assert verdict.message.endswith("RPO 26h")


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("{not json", "not valid JSON"),
        ({"job": "x"}, "not in the runbook schema: host: Field required"),
        (
            {"job": "x", "host": "h", "status": "success", "completed_at": "2025-12-18T05:23:15"},
            "Input should have timezone info",
        ),
    ],
)
def test_unparsable_markers_say_why(local, tmp_path, markers, content, error):
    path = markers("b2_mirror.json", content)
    verdict = marker_valid(read_marker(local, path), job_with(tmp_path))
    assert not verdict.ok
    assert error in verdict.message


def test_a_missing_marker_is_named(local, tmp_path):
    job = job_with(tmp_path)
    verdict = marker_valid(marker_reading(local, job), job)
    assert not verdict.ok
    assert verdict.message.endswith("b2_mirror.json does not exist")


def test_a_failure_newer_than_the_success_fails_and_an_older_one_does_not(local, tmp_path, markers):
    markers("b2_mirror.json", success(5))
    job = job_with(tmp_path)
    reading = marker_reading(local, job)
    markers(
        "last_failure.json",
        {
            "job": "b2_mirror",
            "host": "akira",
            "status": "failure",
            "message": "rclone exited 7",
            "failed_at": when(1),
        },
    )
    verdict = no_newer_failure(local, job, reading)
    assert not verdict.ok
    assert "rclone exited 7" in verdict.message
    local.drill_run = DrillRun()  # a new drill finds the estate anew
    markers(
        "last_failure.json",
        {"job": "b2_mirror", "host": "akira", "status": "failure", "message": "old", "failed_at": when(9)},
    )
    assert no_newer_failure(local, job, reading).ok


def restore_test_job(tmp_path) -> Job:
    return Job.model_validate(
        {"name": "restore-test", "host": "runner", "kind": "restore-test", "rpo": "8d",
         "results": str(tmp_path / "restore-tests")}
    )


def test_the_newest_restore_test_result_is_read_and_a_failed_test_is_named(local, tmp_path):
    job, results = restore_test_job(tmp_path), tmp_path / "restore-tests"
    reading = newest_restore_test(local, job)
    verdict = marker_valid(reading, job)
    assert not verdict.ok
    assert f"restore-test result {results}/*.json matches no file" in verdict.message
    local.drill_run = DrillRun()  # a new drill finds the estate anew
    results.mkdir()
    older = results / "restore-test-1.json"
    older.write_text(json.dumps(success(200) | {"job": "restore_test", "tests": {"b2_mirror": "PASS"}}))
    os.utime(older, (1, 1))
    newest = results / "restore-test-2.json"
    newest.write_text(json.dumps(success(1) | {"job": "restore_test", "status": "failure",
                                              "tests": {"b2_mirror": "FAIL", "restic_snapshot": "PASS"}}))
    reading = newest_restore_test(local, job)
    assert reading.path == str(newest)
    verdict = restore_tests_passed(reading, job)
    assert not verdict.ok
    assert "status 'failure', tests b2_mirror FAIL, restic_snapshot PASS" in verdict.message
    assert verdict.message.endswith("(failed: b2_mirror)")
    assert marker_fresh(reading, job, local).ok
    newest.unlink()
    local.drill_run = DrillRun()
    reading = newest_restore_test(local, job)
    assert restore_tests_passed(reading, job).ok
    assert f"restore-test result {older} is 200h" in marker_fresh(reading, job, local).message


def test_a_result_without_tests_does_not_pass(local, tmp_path):
    job, results = restore_test_job(tmp_path), tmp_path / "restore-tests"
    results.mkdir()
    (results / "r.json").write_text(json.dumps(success(1)))
    verdict = restore_tests_passed(newest_restore_test(local, job), job)
    assert not verdict.ok
    assert "tests none" in verdict.message
