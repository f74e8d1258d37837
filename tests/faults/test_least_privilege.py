"""Drilling as an unprivileged user: with ``sudo: true`` the drill passes and escalates only
the commands that need root (credentials, restores, hashing), never the read-only ones (unit
state, versions); without sudo, what needs no privilege still runs and the rest could not run,
named, instead of being judged. With ``sudo: exact`` and only the file ``backup-drills
sudoers`` generates, motoko's whole read-only drill, akira's mirror and restore test, and
cartae's whole read-only drill (restic, the pg_dump and the Redis RDB restored into scratch
servers run by a throwaway user) pass and sudo runs no shell. A scratch root a local user made
first is refused before anything is written through it."""

import re
import shlex

import pytest
import yaml

from tests.faults.conftest import ROOT, LabHost

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


# each host's covered jobs and what sudo must have run for them (akira's nextcloud-db, a
# database dump fetched from the mirror, is not covered)
EXACT = {"motoko": ({"flux-backup", "flux-borg", "restic-check"}, {"/usr/bin/restic", "/usr/bin/borg"},
                    "borg-in-dir-",
                    "/usr/bin/restic -r s3:http://objectstore:8333/backups-restic/flux --password-command "
                    "id snapshots"),
         "akira": ({"space-mirror", "restore-test"}, {"/usr/bin/rclone"}, "read-file-",
                   "/usr/bin/rclone serve http b2mirror:space-mirror"),
         "cartae": ({"cartae-backup", "cartae-postgres", "cartae-redis"},
                    {"/usr/bin/restic", "/usr/sbin/runuser"}, "pg-start-",
                    "/usr/sbin/runuser -u root -- /usr/bin/id")}


@pytest.mark.touches("motoko")
@pytest.mark.touches("cartae")
def test_a_user_with_only_the_generated_sudoers_passes_motokos_read_only_drill(drill, motoko, akira):
    """All of motoko's jobs (restic, borg, restic-check), then akira's rclone mirror and restore
    test, then all of cartae's jobs (restic, pg-dump, redis-rdb), drilled as drill-exact, whose
    only rights are the file `backup-drills sudoers` prints for that host (sudo: exact), its
    scratch root made first under a root-only parent (the default there): each read-only drill
    passes, sudo ran the tools and the helpers but no shell, env or timeout,
    cartae's restores ran their servers' programs as a throwaway user through runuser (removed
    after), and a command outside the file (restic with --password-command, rclone serve,
    runuser as root) is refused by sudo."""
    from backup_drills.inventory.schema import load_inventory
    from backup_drills.inventory.sudoers import COVERED, helper_files, sudoers_file
    from lab.estate import DRILL_EXACT_USER

    lab = yaml.safe_load((ROOT / "inventory/lab.yml").read_text())
    for name, host in (("motoko", motoko), ("akira", akira), ("cartae", LabHost("cartae"))):
        jobs, tools, helper, outside = EXACT[name]
        doc = dict(lab)
        exact = {"transport": f"ssh://drill-exact@{name}", "sudo": "exact"}
        doc["hosts"] = {name: lab["hosts"][name] | exact}
        doc["jobs"] = {key: {k: v for k, v in job.items() if k != "writes"}  # read-only
                       for key, job in lab["jobs"].items() if key in jobs}
        assert {job["kind"] for job in doc["jobs"].values()} <= set(COVERED)
        assert set(doc["jobs"]) == jobs
        inventory = drill.tmp / f"exact-{name}.yml"
        inventory.write_text(yaml.safe_dump(doc, allow_unicode=True))
        loaded = load_inventory(inventory)
        rules = sudoers_file(loaded, name, "drill-exact", "the lab")
        host.sh(DRILL_EXACT_USER)
        host.sh("install -d -m 0755 /usr/local/lib/backup-drills")
        scratch = loaded.hosts[name].scratch  # sudo: exact's default, under a root-only parent
        assert not scratch.startswith(("/var/tmp/", "/tmp/")), scratch
        host.sh(f"mkdir -p -m 0700 {scratch}")  # before the file, as its header says
        for path, content in helper_files(loaded, name).items():
            host.sh(f"printf %s {shlex.quote(content)} > {path} && chmod 0755 {path}")
        host.sh(f"printf %s {shlex.quote(rules)} > /tmp/exact.sudoers && visudo -cf /tmp/exact.sudoers "
                "&& install -m 0440 /tmp/exact.sudoers /etc/sudoers.d/backup-drills-exact")
        try:
            since = host.sh("date +%s").strip()
            run = drill.run_features("-q", "-rA", f"--inventory={inventory}", "-k", name)
            assert run.returncode == 0, run.stdout[-3000:]
            assert " passed" in run.stdout
            assert "failed" not in run.stdout
            logged = host.sh(f"journalctl _COMM=sudo --since @{since} -o cat --no-pager")
            escalated = [line.split("COMMAND=", 1)[1] for line in logged.splitlines() if "COMMAND=" in line]
            programs = {command.split()[0] for command in escalated}
            assert tools <= programs, logged[-2000:]
            assert any(p.startswith(f"/usr/local/lib/backup-drills/{helper}") for p in programs), programs
            for job in jobs:  # every job was drilled, none skipped
                assert f"{job}@{name}" in run.stdout, job
            assert not {p.rsplit("/", 1)[-1] for p in programs} & {"sh", "env", "timeout", "bash"}, programs
            assert "command not allowed" not in logged, logged[-2000:]
            # the drill's own root, 0711 once a database restore let its throwaway user through
            assert host.sh(f"stat -c '%U %a' {scratch}").strip() in ("root 700", "root 711")
            as_throwaway = [c.split()[2:5:2] for c in escalated if c.startswith("/usr/sbin/runuser ")]
            assert all(re.fullmatch("drill-[0-9a-f]{10}", user) for user, _ in as_throwaway), as_throwaway
            if name == "cartae":  # both restores ran their programs as the throwaway user, now gone
                assert {p.rsplit("/", 1)[-1] for _, p in as_throwaway} >= {"pg_restore", "psql", "redis-cli"}
                passed = [line for line in run.stdout.splitlines() if line.startswith("PASSED")]
                for scenario, job in (("pg_dump_restores", "cartae-postgres"),
                                      ("redis_rdb_loads", "cartae-redis")):  # the restores themselves
                    assert any(scenario in line and f"[{job}@cartae]" in line for line in passed), passed
                assert "drill-" not in host.sh("cut -d: -f1 /etc/passwd | grep -v '^drill-exact$' || true")
            refused = host.sh(f"su drill-exact -c {shlex.quote(f'sudo -n {outside}')} 2>&1; echo rc=$?")
            assert "rc=1" in refused, refused
            assert "password is required" in refused, refused
        finally:
            host.sh("rm -f /etc/sudoers.d/backup-drills-exact /tmp/exact.sudoers")


LATEST = "test_the_latest_snapshot_restores_byteidentical_within_the_rto"


@pytest.mark.touches("cartae")
def test_a_scratch_root_a_local_user_made_first_is_refused_and_nothing_goes_through_it(drill):
    """drill-exact, an unprivileged local user of cartae, makes the scratch root before the
    drill: once as a folder of its own, open to all, with a symlink in it; once as a symlink to a
    folder of its own. cartae-backup's restore is COULD NOT RUN each time, naming host, job, the
    root, its owner and mode and what is expected, and nothing lands where the symlinks point.
    Healed (what it planted removed), the drill makes its own root (root's, 0700) and the
    restore passes."""
    from lab.estate import DRILL_EXACT_USER

    cartae, root, bait = LabHost("cartae"), "/var/tmp/backup-drill", "/tmp/drill-exact-bait"
    cartae.sh(DRILL_EXACT_USER)
    plants = {  # how the root is planted, and what it is then
        f"mkdir -m 0777 {root} && ln -s {bait} {root}/planted": "directory",
        f"ln -s {bait} {root}": "symbolic link"}
    try:
        for plant, what in plants.items():
            cartae.sh(f"rm -rf {root} {bait}")  # the drill's own root, empty between drills
            cartae.sh(f"su drill-exact -s /bin/sh -c {shlex.quote(f'mkdir -m 0777 {bait} && {plant}')}")
            drill.run(LATEST, "cartae-backup@cartae").expect_failure(
                "host cartae, job cartae-backup: refusing the scratch root /var/tmp/backup-drill",
                "owned by drill-exact (uid ", f"mode 0777, {what}; expected owned by root, mode 0700 "
                "or stricter", exit_code=2)
            assert cartae.sh(f"find {bait} -mindepth 1 | head -3") == "", f"written through: {plant}"
    finally:
        planted = f'[ -L {root} ] || [ "$(stat -c %U {root} 2>/dev/null)" = drill-exact ]'
        cartae.sh(f"rm -rf {bait}; if {planted}; then rm -rf {root}; fi")
    drill.run(LATEST, "cartae-backup@cartae").expect_pass()
    assert cartae.sh(f"stat -c '%U %a %F' {root}").strip() == "root 700 directory"
