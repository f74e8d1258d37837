"""restore_tests.feature bites: a failed automated restore test and a stale result are caught,
named by host, job and the result file."""

from datetime import UTC, datetime, timedelta

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.touches("akira")]

RESULTS = "/space/_ops/backups/restore-tests"
SCENARIO = "test_the_newest_automated_restore_test_passed_every_test_and_is_younger_than_the_jobs_rpo"
JOB = "restore-test@akira"
SAMPLE = "mike/documents/Quarterly report (final).txt"


def test_a_failed_restore_test_fails(drill, akira, bucket):
    bucket.put_object(Bucket="space-mirror", Key=SAMPLE, Body=b"tampered with in the bucket\n")
    try:
        akira.sh("systemctl start restore-test.service || true", timeout=600)
        run = drill.run(SCENARIO, JOB)
    finally:
        akira.sh("systemctl start space-mirror.service && systemctl start restore-test.service",
                 timeout=600)
    run.expect_failure(f"host akira, job restore-test: restore-test result {RESULTS}/restore-test-",
                       "status 'failure', tests b2_mirror FAIL", "(failed: b2_mirror)")
    drill.healed(SCENARIO, JOB)


def test_a_restore_test_older_than_the_rpo_fails(drill, akira):
    old = datetime.now(UTC) - timedelta(days=10)
    planted = f"{RESULTS}/restore-test-{old:%Y-%m-%dT%H%M%S}.json"
    akira.sh(f"rm -rf /root/fault-results && mkdir /root/fault-results && "
             f"mv {RESULTS}/*.json /root/fault-results/")
    try:
        akira.sh(f"""jq '.started_at = "{old.isoformat(timespec="seconds")}" | .completed_at = \
                 "{old.isoformat(timespec="seconds")}"' "$(ls -1t /root/fault-results/*.json | head -n 1)" \
                 > {planted} && touch -d '{old.isoformat()}' {planted}""")
        run = drill.run(SCENARIO, JOB)
        akira.sh(f"rm -f {planted}")
        missing = drill.run(SCENARIO, JOB)
    finally:
        akira.sh(f"rm -f {planted}; mv /root/fault-results/*.json {RESULTS}/")
    run.expect_failure(f"host akira, job restore-test: restore-test result {planted} is 240h", "RPO 8d")
    missing.expect_failure(f"host akira, job restore-test: restore-test result {RESULTS}/*.json "
                           "matches no file")
    drill.healed(SCENARIO, JOB)
