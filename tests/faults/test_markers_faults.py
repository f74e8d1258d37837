"""markers.feature bites: an aged marker and a newer failure marker are caught, named."""

from datetime import UTC, datetime, timedelta

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.touches("akira")]

FRESH = "test_the_jobs_status_marker_reports_a_success_younger_than_the_rpo"
NO_FAILURE = "test_no_failure_is_newer_than_the_jobs_last_success"
MARKERS = "/space/_ops/data-estate/markers"


def test_a_marker_older_than_the_rpo_fails(drill, akira):
    marker = f"{MARKERS}/b2_mirror.json"
    old = (datetime.now(UTC) - timedelta(hours=30)).isoformat(timespec="seconds")
    with akira.keep(marker):
        akira.sh(f"jq '.completed_at = \"{old}\"' {marker} > /tmp/m && cat /tmp/m > {marker}")
        run = drill.run(FRESH, "space-mirror@akira")
    run.expect_failure(f"host akira, job space-mirror: marker {marker} is 30h", "RPO 26h")
    drill.healed(FRESH, "space-mirror@akira")


@pytest.mark.touches("motoko")
def test_a_marker_reporting_failure_or_replaced_by_a_symlink_fails(drill, motoko):
    """A marker reporting failure fails; so does one a local user replaced by a link to
    /etc/shadow, which the drill refuses to read: nothing of the shadow file reaches its output or
    anything it wrote. The estate's own restic-check service then writes the marker again."""
    marker = f"{MARKERS}/restic_check.json"
    with motoko.keep(marker):
        motoko.sh(
            f'jq \'.status = "failure" | .message = "Fatal: wrong password"\' {marker} '
            f"> /tmp/m && cat /tmp/m > {marker}"
        )
        run = drill.run(FRESH, "restic-check@motoko")
    run.expect_failure(
        f"host motoko, job restic-check: marker {marker} reports status 'failure': Fatal: wrong password"
    )
    shadow = [line for line in motoko.sh("cat /etc/shadow").splitlines() if len(line) >= 12]
    motoko.sh(f"ln -sfn /etc/shadow {marker}")
    try:
        run = drill.run(FRESH, "restic-check@motoko")
    finally:  # healed by the estate: its job replaces the link with a marker (os.replace)
        motoko.sh("systemctl start restic-check.service")
    assert motoko.sh(f"[ -f {marker} ] && [ ! -L {marker} ] && echo regular").strip() == "regular"
    run.expect_failure(f"host motoko, job restic-check: marker {marker} is a symlink: not read")
    written = {str(p): p.read_text(errors="replace") for p in drill.tmp.rglob("*") if p.is_file()}
    assert written  # the evidence, Allure results and JUnit the run wrote
    leaked = [where for where, text in {"output": run.output, **written}.items()
              if any(line in text for line in shadow)]
    assert shadow
    assert leaked == []
    drill.healed(FRESH, "restic-check@motoko")


def test_a_failure_newer_than_the_last_success_fails(drill, akira):
    failure = f"{MARKERS}/last_failure.json"
    now = datetime.now(UTC).isoformat(timespec="seconds")
    with akira.keep(failure):
        akira.sh(f"""printf '%s' '{{"job": "b2_mirror", "host": "akira", "status": "failure",
                 "message": "rclone exited 7: Failed to copy", "failed_at": "{now}"}}' > {failure}""")
        run = drill.run(NO_FAILURE, "space-mirror@akira")
    run.expect_failure(
        f"host akira, job space-mirror: failure marker {failure}", "is newer than the last success"
    )
    drill.healed(NO_FAILURE, "space-mirror@akira")
