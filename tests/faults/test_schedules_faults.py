"""schedules.feature bites: a disabled timer and a failed last run are caught, named."""

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.touches("akira")]

ARMED = "test_the_jobs_timer_is_armed_on_its_declared_schedule"
LAST_RUN = "test_the_jobs_last_run_succeeded"


def test_a_disabled_timer_fails_the_armed_scenario(drill, akira):
    drill.run(ARMED, "space-mirror@akira").expect_pass()
    # systemd unloads the idle service meanwhile: its last run is then read from the journal
    drill.run(LAST_RUN, "space-mirror@akira").expect_pass()
    akira.sh("systemctl disable --now space-mirror.timer")
    try:
        run = drill.run(ARMED, "space-mirror@akira")
    finally:
        akira.sh("systemctl enable --now space-mirror.timer")
    run.expect_failure("host akira, job space-mirror: space-mirror.timer is not enabled, not active")
    drill.healed(ARMED, "space-mirror@akira")


def test_a_timer_on_another_calendar_fails_the_armed_scenario(drill):
    inventory = drill.inventory_with(
        "space-mirror",
        schedule={
            "timer": "space-mirror.timer",
            "service": "space-mirror.service",
            "on_calendar": "Sat *-*-* 07:00:00",
        },
    )
    run = drill.run(ARMED, "space-mirror@akira", inventory)
    run.expect_failure("host akira, job space-mirror: space-mirror.timer runs on '*-*-* 04:00:00'")


@pytest.mark.touches("motoko")
def test_a_failed_last_run_fails_its_scenario(drill, motoko):
    motoko.sh("chmod -x /usr/local/sbin/backup-job; systemctl start restic-check.service || true")
    try:
        run = drill.run(LAST_RUN, "restic-check@motoko")
    finally:
        motoko.sh("chmod +x /usr/local/sbin/backup-job; systemctl start restic-check.service")
    run.expect_failure(
        "host motoko, job restic-check: last run of restic-check.service", "result 'exit-code'"
    )
    drill.healed(LAST_RUN, "restic-check@motoko")
