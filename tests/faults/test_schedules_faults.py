"""schedules.feature bites: a disabled timer, a timer on another calendar or with a second
OnCalendar= the runbook does not state, and a failed last run are caught, named."""

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


def test_a_second_oncalendar_the_runbook_does_not_state_is_named(drill, akira):
    """A drop-in adds a second OnCalendar= (systemd keeps both: the timer fires at 04:00 and
    13:00). The runbook's 04:00 alone is a finding naming the added line; a runbook that states
    both, in other words, passes. Healed with systemctl revert (the drop-in removed)."""
    dropin = "/etc/systemd/system/space-mirror.timer.d"
    both = drill.inventory_with("space-mirror", schedule={
        "timer": "space-mirror.timer", "service": "space-mirror.service",
        "on_calendar": ["13:00", "*-*-* 4:00 UTC"]})
    try:
        akira.sh(f"mkdir -p {dropin} && printf '[Timer]\\nOnCalendar=*-*-* 13:00:00\\n' > "
                 f"{dropin}/zz-fault.conf && systemctl daemon-reload && "
                 "systemctl restart space-mirror.timer")
        run = drill.run(ARMED, "space-mirror@akira")
        stated = drill.run(ARMED, "space-mirror@akira", both)
    finally:
        akira.sh("systemctl revert space-mirror.timer && systemctl restart space-mirror.timer")
    run.expect_failure("host akira, job space-mirror: space-mirror.timer runs on '*-*-* ",
                       "'*-*-* 04:00:00'", "'*-*-* 13:00:00'",  # in the order systemd lists them
                       "the inventory declares '*-*-* 04:00:00' (*-*-* 04:00:00); "
                       "OnCalendar=*-*-* 13:00:00 is not stated by the inventory")
    stated.expect_pass()
    assert akira.sh(f"ls -A {dropin} 2>/dev/null || true").strip() == "", "the drop-in is left"
    drill.healed(ARMED, "space-mirror@akira")


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
