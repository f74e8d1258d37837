"""Drilling as an unprivileged user: with ``sudo: true`` the drill passes and escalates only
the commands that need root (credentials, restores, hashing), never the read-only ones (unit
state, versions); without sudo, what needs no privilege still runs and the rest could not run,
named, instead of being judged."""

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.touches("akira")]

TIMER = "test_the_jobs_timer_is_armed_on_its_declared_schedule"
CHECK = "test_rclone_check_oneway_finds_no_differences"


def test_an_unprivileged_user_with_sudo_escalates_only_where_needed(drill, akira):
    inventory = drill.inventory_with(host="akira", transport="ssh://drill@akira", sudo=True)
    since = akira.sh("date +%s").strip()
    run = drill.run_features("-q", f"--inventory={inventory}", "-k", "akira")
    assert run.returncode == 0, run.stdout[-3000:]
    assert " passed" in run.stdout
    assert "failed" not in run.stdout
    logged = akira.sh(f"journalctl _COMM=sudo --since @{since} -o cat --no-pager")
    escalated = [line for line in logged.splitlines() if "COMMAND=" in line]
    assert all(line.strip().startswith("drill : ") for line in escalated), escalated[:3]
    assert any("rclone copy" in line for line in escalated), logged[-2000:]
    assert any("sha256sum" in line for line in escalated), logged[-2000:]
    for read_only in ("systemctl show", "restic version", "curl -s -o /dev/null"):
        assert not any(read_only in line for line in escalated), read_only


def test_an_unprivileged_user_without_sudo_runs_read_only_checks_and_names_the_credentials(drill):
    inventory = drill.inventory_with(host="akira", transport="ssh://drill@akira", sudo=False)
    drill.run(TIMER, "space-mirror@akira", inventory).expect_pass()
    drill.run(CHECK, "space-mirror@akira", inventory).expect_failure(
        "host akira: cannot read its credentials file /etc/miket/storage-credentials.env as the "
        "drilling user (without sudo)",
        exit_code=2,
    )
