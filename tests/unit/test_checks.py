import json
from datetime import UTC, datetime, timedelta

import pytest

from drills import checks
from drills.inventory import Job
from drills.markers import read_marker


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
    reading = checks.marker_reading(local, job)
    for verdict in (
        checks.marker_valid(reading, job),
        checks.marker_success(reading, job),
        checks.marker_fresh(reading, job),
        checks.no_newer_failure(local, job, reading),
    ):
        assert verdict.ok, verdict.message


def test_an_old_marker_fails_freshness_naming_host_job_path_and_rpo(local, tmp_path, markers):
    path = markers("b2_mirror.json", success(30))
    job = job_with(tmp_path)
    verdict = checks.marker_fresh(checks.marker_reading(local, job), job)
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
    verdict = checks.marker_valid(read_marker(local, path), job_with(tmp_path))
    assert not verdict.ok
    assert error in verdict.message


def test_a_missing_marker_is_named(local, tmp_path):
    job = job_with(tmp_path)
    verdict = checks.marker_valid(checks.marker_reading(local, job), job)
    assert not verdict.ok
    assert verdict.message.endswith("b2_mirror.json does not exist")


def test_a_failure_newer_than_the_success_fails_and_an_older_one_does_not(local, tmp_path, markers):
    markers("b2_mirror.json", success(5))
    job = job_with(tmp_path)
    reading = checks.marker_reading(local, job)
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
    verdict = checks.no_newer_failure(local, job, reading)
    assert not verdict.ok
    assert "rclone exited 7" in verdict.message
    markers(
        "last_failure.json",
        {"job": "b2_mirror", "host": "akira", "status": "failure", "message": "old", "failed_at": when(9)},
    )
    assert checks.no_newer_failure(local, job, reading).ok
