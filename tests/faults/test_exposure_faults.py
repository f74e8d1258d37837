"""credentials.feature and endpoints.feature bite: a credentials file others can read, or owned
by someone else, and a store that stops answering, are each named; then healed."""

import docker
import pytest

from lab.estate import ENV_FILE, PREFIX

pytestmark = pytest.mark.lab

PRIVATE = "test_the_credentials_file_is_private_to_its_owner"
ENDPOINTS = "test_every_endpoint_answers_with_its_expected_status"


def test_a_credentials_file_others_can_read_fails_naming_host_job_path_and_mode(drill, akira):
    drill.run(PRIVATE, "space-mirror@akira").expect_pass()
    akira.sh(f"chmod 0644 {ENV_FILE}")
    try:
        drill.run(PRIVATE, "space-mirror@akira").expect_failure(
            "host akira, job space-mirror", ENV_FILE, "mode 0644 lets group or others in"
        )
    finally:
        akira.sh(f"chmod 0600 {ENV_FILE}")
    drill.run(PRIVATE, "space-mirror@akira").expect_pass()


def test_a_credentials_file_owned_by_another_user_fails(drill, motoko):
    motoko.sh(f"chown nobody {ENV_FILE}")
    try:
        drill.run(PRIVATE, "flux-backup@motoko").expect_failure(
            "host motoko, job flux-backup", ENV_FILE, "owned by nobody, not root"
        )
    finally:
        motoko.sh(f"chown root {ENV_FILE}")
    drill.run(PRIVATE, "flux-backup@motoko").expect_pass()


def test_a_store_that_stops_answering_fails_naming_each_endpoint(drill, lab):
    store = docker.from_env().containers.get(PREFIX + "objectstore")
    drill.run(ENDPOINTS, "space-mirror@akira").expect_pass()
    store.pause()
    try:
        drill.run(ENDPOINTS, "space-mirror@akira").expect_failure(
            "host akira, job space-mirror",
            "S3 API without credentials (http://objectstore:8333/) answered 000, expected 403",
            "object store web UI (http://objectstore:9333/) answered 000, expected 200",
        )
    finally:
        store.unpause()
    drill.run(ENDPOINTS, "space-mirror@akira").expect_pass()
