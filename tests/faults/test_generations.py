"""Both generations of the tools bite alike: the same faults on motoko (Debian 12: restic 0.14,
systemd 252) and on its Debian 13 twin batou (restic 0.18, systemd 257)."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.faults.conftest import LabHost

pytestmark = pytest.mark.lab

CHECK = "test_restic_check_passes"
FRESH = "test_the_jobs_status_marker_reports_a_success_younger_than_the_rpo"
MARKER = "/space/_ops/data-estate/markers/restic_cloud.json"
ENV = "/etc/miket/storage-credentials.env"
TWINS = [pytest.param("motoko", "flux-backup", marks=pytest.mark.touches("motoko")),
         pytest.param("batou", "batou-backup", marks=pytest.mark.touches("batou"))]


@pytest.mark.parametrize(("host", "job_name"), TWINS, ids=["debian12", "debian13"])
def test_a_wrong_repository_password_could_not_run_in_both_generations(drill, lab, host, job_name):
    """restic 0.14 exits 1 for a wrong password, 0.18 exits 12: both are COULD NOT RUN (exit 2),
    named by the up-front probe, never a verdict on the repository."""
    box = LabHost(host)
    with box.keep(ENV):
        box.sh(f"sed -i 's/^RESTIC_PASSWORD=.*/RESTIC_PASSWORD=not-the-password/' {ENV}")
        run = drill.run(CHECK, f"{job_name}@{host}")
    run.expect_failure(f"host {host}", "refused the credentials (wrong password or no key found)",
                       exit_code=2)
    drill.healed(CHECK, f"{job_name}@{host}")


@pytest.mark.parametrize(("host", "job_name"), TWINS, ids=["debian12", "debian13"])
def test_a_stale_marker_fails_in_both_generations(drill, lab, host, job_name):
    old = (datetime.now(UTC) - timedelta(hours=30)).isoformat(timespec="seconds")
    box = LabHost(host)
    with box.keep(MARKER):
        box.sh(f"jq '.completed_at = \"{old}\"' {MARKER} > /tmp/m && cat /tmp/m > {MARKER}")
        run = drill.run(FRESH, f"{job_name}@{host}")
    run.expect_failure(f"host {host}, job {job_name}: marker {MARKER} is 30h", "RPO 26h")
