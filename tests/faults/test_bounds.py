"""Nothing waits unbounded: an object store that accepts connections and never answers (its
container paused: the kernel still completes every TCP handshake, nothing replies) costs the
whole drill of a job about a minute, COULD NOT RUN with its name and exit code 2, from the
job's host (its repository) and from the runner (its bucket's controls), while the scenarios
that do not need it still pass."""

import time

import docker
import pytest

from lab.estate import PREFIX
from tests.faults.conftest import scenario_node

pytestmark = [pytest.mark.lab, pytest.mark.alone]

REPOSITORY = "s3:http://objectstore:8333/backups-restic/flux"


def test_a_hung_object_store_costs_a_minute_named_and_the_rest_goes_on(drill):
    store = docker.from_env().containers.get(PREFIX + "objectstore")
    store.pause()
    try:
        started = time.monotonic()
        run = drill.run_features("-k", "flux-backup", "-q", "--tb=line", "-rA")
        took = time.monotonic() - started
    finally:
        store.unpause()
    output = run.stdout + run.stderr
    assert run.returncode == 2, output
    assert f"COULD NOT RUN host motoko: restic repository {REPOSITORY} did not answer within 45s" \
        in output, output
    # the bucket's own controls, read from the runner: the same store, named once, up front
    assert "COULD NOT RUN object store lab (http://127.0.0.1:18333): GetBucketVersioning of bucket " \
           "backups-restic did not answer within 20s" in output, output
    assert took < 150, f"the drill of one job took {took:.0f}s against a hung store:\n{output}"
    for unaffected in ("test_the_jobs_timer_is_armed_on_its_declared_schedule",
                       "test_the_jobs_status_marker_reports_a_success_younger_than_the_rpo"):
        assert f"PASSED {scenario_node(unaffected)}[flux-backup@motoko]" in output, output
    assert "NOT COMPLIANT" not in output, output
