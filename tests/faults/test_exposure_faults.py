"""credentials.feature and endpoints.feature bite: a credentials file others can read, or owned
by someone else, and a store that stops answering, are each named; then healed."""

import docker
import pytest

from lab.estate import ENV_FILE, PREFIX
from tests.faults.conftest import LabHost

pytestmark = pytest.mark.lab

PRIVATE = "test_the_credentials_file_is_private_to_its_owner"
ENDPOINTS = "test_every_endpoint_answers_with_its_expected_status"


@pytest.mark.parametrize(
    ("host_name", "job_name", "fault", "heal", "why"),
    [
        pytest.param("akira", "space-mirror", "chmod 0644", "chmod 0600", "mode 0644 lets group or others in",
                     marks=pytest.mark.touches("akira")),
        pytest.param("motoko", "flux-backup", "chown nobody", "chown root", "owned by nobody, not root",
                     marks=pytest.mark.touches("motoko")),
    ],
    ids=["readable-by-others", "owned-by-another-user"],
)
def test_a_credentials_file_not_private_fails_naming_host_job_path(
    drill, host_name, job_name, fault, heal, why
):
    lab_host, job_id = LabHost(host_name), f"{job_name}@{host_name}"
    drill.run(PRIVATE, job_id).expect_pass()
    lab_host.sh(f"{fault} {ENV_FILE}")
    try:
        drill.run(PRIVATE, job_id).expect_failure(f"host {host_name}, job {job_name}", ENV_FILE, why)
    finally:
        lab_host.sh(f"{heal} {ENV_FILE}")
    drill.healed(PRIVATE, job_id)


@pytest.mark.alone  # every host's jobs use the store
def test_a_store_that_stops_answering_fails_naming_each_endpoint(drill, lab):
    store = docker.from_env().containers.get(PREFIX + "objectstore")
    drill.run(ENDPOINTS, "space-mirror@akira").expect_pass()
    store.pause()
    try:
        # the endpoints are what is judged here; the up-front probe of the mirror's backend
        # meets the same hung store, and a short limit keeps its wait short (its own bound is
        # test_bounds.py's)
        drill.run(ENDPOINTS, "space-mirror@akira", options=("--probe-timeout=5",)).expect_failure(
            "host akira, job space-mirror",
            "S3 API without credentials (http://objectstore:8333/) answered 000, expected 403",
            "object store web UI (http://objectstore:9333/) answered 000, expected 200",
        )
    finally:
        store.unpause()
    drill.healed(ENDPOINTS, "space-mirror@akira")
