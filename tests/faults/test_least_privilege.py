"""Drilling as an unprivileged user: with ``sudo: true`` the drill passes and escalates only
the commands that need root (credentials, restores, hashing), never the read-only ones (unit
state, versions); without sudo, what needs no privilege still runs and the rest could not run,
named, instead of being judged. With ``sudo: exact`` and only the file ``backup-drills
sudoers`` generates, motoko's whole read-only drill passes and sudo runs no shell."""

import shlex

import pytest
import yaml

from tests.faults.conftest import ROOT

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


@pytest.mark.touches("motoko")
def test_a_user_with_only_the_generated_sudoers_passes_motokos_read_only_drill(drill, motoko):
    """All of motoko's jobs (restic, borg, restic-check) drilled as drill-exact, whose only
    rights are the file `backup-drills sudoers` prints (sudo: exact): the whole read-only drill
    passes, sudo ran restic, borg and the borg-in-dir helper but no shell, env or timeout, and a
    command outside the file (restic with --password-command) is refused by sudo."""
    from drills.inventory.schema import load_inventory
    from drills.inventory.sudoers import COVERED, helper_files, sudoers_file
    from lab.estate import DRILL_EXACT_USER

    doc = yaml.safe_load((ROOT / "inventory/lab.yml").read_text())
    doc["hosts"] = {"motoko": doc["hosts"]["motoko"] | {"transport": "ssh://drill-exact@motoko",
                                                         "sudo": "exact"}}
    doc["jobs"] = {name: {k: v for k, v in job.items() if k != "writes"}  # read-only
                   for name, job in doc["jobs"].items() if job["host"] == "motoko"}
    assert {job["kind"] for job in doc["jobs"].values()} <= set(COVERED)  # all of motoko's jobs
    assert set(doc["jobs"]) == {"flux-backup", "flux-borg", "restic-check"}
    inventory = drill.tmp / "exact.yml"
    inventory.write_text(yaml.safe_dump(doc, allow_unicode=True))
    loaded = load_inventory(inventory)
    rules = sudoers_file(loaded, "motoko", "drill-exact", "the lab")
    motoko.sh(DRILL_EXACT_USER)
    motoko.sh("install -d -m 0755 /usr/local/lib/backup-drills")
    for path, content in helper_files(loaded, "motoko").items():
        motoko.sh(f"printf %s {shlex.quote(content)} > {path} && chmod 0755 {path}")
    motoko.sh(f"printf %s {shlex.quote(rules)} > /tmp/exact.sudoers && visudo -cf /tmp/exact.sudoers "
              "&& install -m 0440 /tmp/exact.sudoers /etc/sudoers.d/backup-drills-exact")
    try:
        since = motoko.sh("date +%s").strip()
        run = drill.run_features("-q", "-rA", f"--inventory={inventory}", "-k", "motoko")
        assert run.returncode == 0, run.stdout[-3000:]
        assert " passed" in run.stdout
        assert "failed" not in run.stdout
        logged = motoko.sh(f"journalctl _COMM=sudo --since @{since} -o cat --no-pager")
        escalated = [line.split("COMMAND=", 1)[1] for line in logged.splitlines() if "COMMAND=" in line]
        programs = {command.split()[0] for command in escalated}
        assert {"/usr/bin/restic", "/usr/bin/borg"} <= programs, logged[-2000:]
        assert any(p.startswith("/usr/local/lib/backup-drills/borg-in-dir-") for p in programs), programs
        for job in doc["jobs"]:  # every job was drilled, none skipped
            assert f"{job}@motoko" in run.stdout, job
        assert not {p.rsplit("/", 1)[-1] for p in programs} & {"sh", "env", "timeout", "bash"}, programs
        assert "command not allowed" not in logged, logged[-2000:]
        refused = motoko.sh("su drill-exact -c 'sudo -n /usr/bin/restic -r s3:http://objectstore:8333/"
                            "backups-restic/flux --password-command id snapshots' 2>&1; echo rc=$?")
        assert "rc=1" in refused, refused
        assert "password is required" in refused, refused
    finally:
        motoko.sh("rm -f /etc/sudoers.d/backup-drills-exact /tmp/exact.sudoers")
