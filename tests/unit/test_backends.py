"""backup_drills.core.backends: what a failed probe means, and that a backend found down is not
asked again."""

import pytest

from backup_drills.adapters.restic import Restic
from backup_drills.core.backends import Backend, backends_of, classify, probe
from backup_drills.core.transport import DrillCouldNotRun, backend_down
from backup_drills.inventory.schema import Job


@pytest.mark.parametrize(
    ("output", "meaning"),
    [
        ("Fatal: wrong password or no key found", "refused the credentials"),
        ("Fatal: unable to open config file: Stat: The AWS Access Key Id you provided does not "
         "exist in our records. (InvalidAccessKeyId)", "unknown access key"),
        ("dial tcp 127.0.0.1:1: connect: connection refused", "refused the connection"),
        ("Fatal: unable to open config file: Is there a repository at the following location?",
         "holds no restic repository"),
        ("something new", "failed the probe (exit 3: something new)"),
    ],
)
def test_a_failed_probe_is_named_in_the_operators_words(output, meaning):
    assert meaning in classify(output, 3, Restic.ERRORS)


def test_a_jobs_backends_are_its_repository_and_the_buckets_it_names():
    job = Job.model_validate({"name": "c", "host": "carbon", "kind": "pg-dump", "rpo": "1d", "rto": "1h",
                              "repository": "s3:http://store:8333/restic/c", "source": "/var/b",
                              "dump": {"remote": "minio:backups/postgres", "tiers": {"daily": 7},
                                       "database": "x"}})
    assert backends_of(job) == [Backend("restic repository", "s3:http://store:8333/restic/c"),
                                Backend("bucket", "minio:backups")]


def test_a_missing_local_repository_fails_the_probe_and_commands_naming_it_do_not_run(local, tmp_path):
    repository = str(tmp_path / "no-repository")
    why = probe(local, Backend("restic repository", repository), limit=20)
    assert why is not None
    assert "holds no restic repository" in why
    backend_down(local, repository, f"restic repository {repository} {why}")
    with pytest.raises(DrillCouldNotRun, match="holds no restic repository"):
        local.with_credentials(["restic", "-r", repository, "snapshots"])
    local.with_credentials(["restic", "-r", f"{repository}-other", "snapshots"])  # not down
