"""``backup-drills sudoers`` and ``sudo: exact``: every command the engine escalates for a job
matches a rule the generator wrote for that job, the rules are narrow, a kind the generator
cannot pin is refused, and docs/security.md shows the table the code generates.

The drift check drives the real builders (restic, borg, scratch, manifests, markers, systemd,
the exposure and repository verdicts, the backend probe) through ``Remote.run`` of a ``sudo:
exact`` host; only the backend's command line is captured (and answered), so what is checked is
the exact ``timeout ... sudo -n -- PROGRAM WORDS`` the transport would send.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from backup_drills.adapters import archives, cron, markers, systemd
from backup_drills.adapters.borg import Borg, borg_tagged
from backup_drills.adapters.metrics import scrape
from backup_drills.adapters.rclone import Rclone
from backup_drills.adapters.restic import Restic, Snapshot, include_word
from backup_drills.cli import main
from backup_drills.core import backends, privilege, progress
from backup_drills.core.transport import SCRIPTS, DrillCouldNotRun, Remote
from backup_drills.inventory import sudoers
from backup_drills.inventory.schema import EXACT_SCRATCH, Host, Inventory, Job, load_inventory
from backup_drills.restores import manifest, rotation, scratch
from backup_drills.restores.databases import CHECKSUM, PostgresDrill, RedisDrill
from backup_drills.restores.trees import RestoreDrill
from backup_drills.verdicts import archives as archive_verdicts
from backup_drills.verdicts import exposure, repository

ROOT = Path(__file__).resolve().parents[2]
HEX = "8de43ff91c877dc17db13856fde742d6a9270c9df6e5a8a399fd557cff6943d2"
OLDER = "5a80953bd671eacd3b270254010f5999e8bd0610ff6d02de02da30571940c97f"
# programs no rule may name at all (rclone and restic are root-giving with free arguments too:
# their rules pin every word)
ROOT_GIVING = {"sh", "bash", "dash", "env", "timeout", "xargs", "sudo", "su", "runuser", "awk", "tar",
               "systemctl", "install", "chown", "chmod", "useradd", "userdel", "pkill", "python3", "perl"}
# runuser is one of PROGRAMS for the database restores: only as a throwaway user, only to run
# one program of these with its options pinned
AS_THROWAWAY = "-u drill-[0-9a-f]{10} -- "
RUN_AS_THROWAWAY = ("/usr/lib/postgresql/[0-9]+/bin/pg_restore ", "/usr/lib/postgresql/[0-9]+/bin/psql ",
                    "/usr/lib/postgresql/[0-9]+/bin/pg_ctl ", "/usr/bin/redis-cli ", "/usr/bin/tail ")
MIRROR = ("space-mirror", "restore-test")  # akira's covered jobs (nextcloud-db, pg-dump, is not)


def exact_inventory(name: str = "motoko") -> Inventory:
    """The lab's motoko with its restic and borg jobs (or akira with its mirror and restore
    test), read-only, as a ``sudo: exact`` host."""
    lab = load_inventory(ROOT / "inventory/lab.yml")
    host = lab.hosts[name].model_copy(update={"sudo": "exact", "transport": "local://",
                                              "scratch": EXACT_SCRATCH})
    jobs = {key: job.model_copy(update={"writes": None}) for key, job in lab.jobs.items()
            if job.host == name and job.kind in sudoers.COVERED and covered(job, host)}
    return lab.model_copy(update={"hosts": {name: host}, "jobs": jobs})


def covered(job: Job, host: Host) -> bool:
    """Whether the generator covers ``job`` (akira's nextcloud-db, a pg-dump fetched from the
    mirror, is not)."""
    try:
        sudoers.job_rules(job.model_copy(update={"writes": None}), host)
    except sudoers.NotCovered:
        return False
    return True


class Captured:
    """What a ``sudo: exact`` host was asked to escalate, answered as the host would."""

    def __init__(self, remote: Remote) -> None:
        self.escalated: list[list[str]] = []
        self.plain: list[str] = []
        self.queries: list[str] = []
        backend = remote._host.backend

        def run(command: str, stdin: object = None):  # type: ignore[no-untyped-def]
            line = command.split("\n", 1)[0]  # a query's here-document: the program's stdin
            if not line.endswith(" <<'SQL'"):
                line = command  # a newline inside a quoted word (a file's name)
            elif line != command:
                self.queries.append(command)
            words = shlex.split(line.removesuffix(" <<'SQL'"))
            if words[-1] in ("2>/dev/null", ">/dev/null"):
                words.pop()
            while words and "=" in words[0] and not words[0].startswith("-"):  # kept env
                assert words.pop(0) in {f"{k}={v}" for k, v in privilege.KEPT_ENV.items()}, command
            if words[4:7] != ["sudo", "-n", "--"]:
                self.plain.append(command)
                return backend.result(0, command.encode(), self.plain_answer(command), b"")
            assert words[:2] == ["timeout", "-k"], command
            self.escalated.append(words[7:])
            return backend.result(0, command.encode(), self.answer(words[7:]), b"")

        remote._backend_run = run  # type: ignore[method-assign]

    def plain_answer(self, command: str) -> bytes:
        """What a command the drilling user runs itself prints (nothing the drill reads here)."""
        return b""

    @staticmethod
    def answer(words: list[str]) -> bytes:
        name = Path(words[0]).name
        if name == "realpath":
            return b"".join(w.encode() + b"\0" for w in words[words.index("--") + 1:])
        if name == "find" and "-H" in words:  # a tarball job's sets, every component in each
            return "".join(f"1200\t20261122_030000/{c}.tar.gz{'.gpg' * (c in ('n8n', 'actual-budget'))}\0"
                           for c in ("homeassistant", "n8n", "grafana", "actual-budget")).encode()
        if name.startswith("first-bytes"):
            return b"".join(b"133\n" for _ in words[1:])
        if name == "find":
            stale = int(datetime.now(UTC).timestamp()) - 2 * 86400
            return f"drill-{scratch.RUNNER}-1-{stale}-aaaaaa\0".encode()
        if name.startswith("free-bytes"):
            return b"100000000000\n"
        if name == "hostname":
            return b"motoko\n"
        if name == "stat":
            return b"600 root\n" if "%a %U" in words else b"12\n"
        if name == "du":
            return b"12\t/x\n"
        if name == "restic" and "stats" in words:
            return b'{"total_size": 12, "total_file_count": 1}'
        if name == "restic" and ("snapshots" in words or "find" in words or "forget" in words):
            return b"[]"
        if name == "rclone" and "size" in words:
            return b'{"count": 1, "bytes": 12}'
        if name == "borg" and "info" in words:
            return b'{"archives": [{"stats": {"original_size": 12, "nfiles": 1}}]}'
        if name == "borg" and "list" in words:
            return (b'{"archives": [{"name": "motoko-2026-11-29T03:30:00", "id": "ab12", '
                    b'"start": "2026-11-29T03:30:00.000000"}]}')
        return b""


class DatabaseCaptured(Captured):
    """A host whose repository has one snapshot holding the dumps, whose scratch servers start
    and answer: a database restore sends every command it would on a healthy host."""

    @staticmethod
    def answer(words: list[str]) -> bytes:
        name = Path(words[0]).name
        if name == "restic" and "snapshots" in words:
            return (f'[{{"id": "{HEX}", "short_id": "{HEX[:8]}", "time": "2026-11-29T02:00:00Z", '
                    f'"hostname": "cartae", "paths": ["/var/backups/cartae"]}}]').encode()
        if name == "restic" and "ls" in words:
            node = {"struct_type": "node", "type": "file", "path": words[-1], "size": 1000}
            return json.dumps(node).encode()
        if name.startswith("manifest"):
            return b'{"tables": {"app.accounts": {"rows": 1}, "app.We_ird": {"rows": 1}}, "keys": 3}'
        if name.startswith("pg-start"):
            return b"psql (PostgreSQL) 15.10 (Debian 15.10-0+deb12u1)\n"
        if name.startswith("redis-load"):
            return b"3 0123abcd\n"
        if name == "runuser" and Path(words[4]).name == "psql":  # a table whose name needs quotes
            return b'app.accounts\napp.We_ird\n0\t1\tx\n' if "pg_tables" in words[-1] else b"0\t1\tx\n"
        return Captured.answer(words)

    def plain_answer(self, command: str) -> bytes:
        if "/usr/lib/postgresql/*/bin" in command:
            return b"/usr/lib/postgresql/15/bin\n"
        return command.encode()


def tolerated(call) -> object:  # type: ignore[no-untyped-def]
    try:
        return call()
    except (DrillCouldNotRun, ValueError, KeyError, AttributeError, TypeError) as exc:
        return exc


def tagged(job: Job) -> Job:
    """The borg job with borg create's tags (the lab's have none): the drill asks the host."""
    return job.model_copy(update={"exclude_caches": True, "exclude_if_present": [".nobackup", "x y"]})


def drive_borg(remote: Remote, job: Job) -> None:
    """Every builder a read-only drill of one borg job runs (borg.feature, the tags it asks of
    the host, the service's journal, the credentials file)."""
    borg = Borg(remote, job)
    drive_common(remote, job)
    tolerated(lambda: repository.check_passes(remote, job))
    tolerated(lambda: borg.check(read_data="all"))
    tolerated(lambda: repository.snapshot_fresh(remote, job))
    tolerated(lambda: repository.retention_conforms(remote, job))
    tolerated(borg.local_times)
    tolerated(lambda: borg.retention_dry_run([], []))
    tolerated(lambda: RestoreDrill(remote, job).latest())
    tolerated(lambda: borg_tagged(remote, tagged(job)))


def drive_common(remote: Remote, job: Job) -> None:
    """The probe, the credentials file, the markers and the service's journal."""
    tolerated(lambda: backends.probe_all(remote, [job]))
    tolerated(lambda: exposure.credentials_private(remote, job))
    if job.marker is not None:
        for path in (job.marker.path, job.marker.failure_path):
            tolerated(lambda path=path: markers.read_marker(remote, path))
    if job.schedule is not None and job.schedule.service:
        state = systemd.ServiceState(job.schedule.service, True, "", None, None)
        tolerated(lambda: systemd._from_journal(remote, state))


def drive_mirror(remote: Remote, job: Job) -> None:
    """Every builder a read-only drill of an rclone mirror runs (mirror.feature: the check, a
    file, a folder and the whole mirror back into scratch, each hashed), and a restore test's
    newest result."""
    drive_common(remote, job)
    if job.results is not None:
        tolerated(lambda: markers.read_newest_result(remote, str(job.results)))
    if job.destination is None or job.samples is None:
        return
    mirror, since = Rclone(remote, job), datetime.now(UTC)
    tolerated(mirror.kept)
    tolerated(mirror.size)
    tolerated(mirror.restore_stats)
    tolerated(mirror.check_one_way)
    tolerated(lambda: mirror.check_one_way(since))
    drill = RestoreDrill(remote, job)
    tolerated(lambda: drill.mirror_sample(job.samples.file, True, since))  # type: ignore[union-attr]
    tolerated(lambda: drill.mirror_sample(job.samples.directory, False, since))  # type: ignore[union-attr]
    tolerated(lambda: drill.mirror_full(since))


def drive_archives(remote: Remote, job: Job) -> None:
    """Every builder a read-only drill of a tarball job runs (archives.feature: freshness, the
    restore of each component's newest archive, encryption, tiers, sizes, retention; its
    metrics textfile)."""
    drive_common(remote, job)
    tolerated(lambda: archive_verdicts.components_fresh(remote, job))
    tolerated(lambda: archive_verdicts.never_in_clear(remote, job))
    tolerated(lambda: archive_verdicts.tiers_hold_newest(remote, job))
    tolerated(lambda: archive_verdicts.size_not_anomalous(remote, job))
    tolerated(lambda: archive_verdicts.sets_conform(remote, job))
    tolerated(lambda: archives.restore_newest(remote, job))
    if job.metrics is not None:
        tolerated(lambda: scrape(remote, job.metrics))  # type: ignore[arg-type]


def drive_database(remote: Remote, job: Job) -> None:
    """Every builder a read-only drill of a database job runs (databases.feature: the dump
    restored into a scratch server by a throwaway user, checked, the server stopped and the
    user removed; cron.feature: its cron entry)."""
    drive_common(remote, job)
    if job.cron is not None:
        tolerated(lambda: cron.entries_for(remote, job.cron))  # type: ignore[arg-type]
    drill = PostgresDrill(remote, job) if job.kind == "pg-dump" else RedisDrill(remote, job)
    tolerated(drill.restore)


def drive_job(remote: Remote, job: Job, snapshot: Snapshot, older: Snapshot) -> None:
    """Every builder a read-only drill of one restic job runs."""
    if job.kind in ("pg-dump", "redis-rdb"):
        return drive_database(remote, job)
    if job.cron is not None:
        tolerated(lambda: cron.entries_for(remote, job.cron))  # type: ignore[arg-type]
    if job.kind == "borg":
        return drive_borg(remote, job)
    if job.kind == "gpg-tar":
        return drive_archives(remote, job)
    if job.kind in ("rclone-mirror", "restore-test"):
        return drive_mirror(remote, job)
    restic = Restic(remote, job)
    drive_common(remote, job)
    tolerated(restic.snapshots)
    tolerated(restic.check)
    tolerated(lambda: restic.check(read_data_subset="2/4"))
    tolerated(lambda: restic.check(read_all=True))
    tolerated(restic.locks)
    tolerated(lambda: restic.restore_size(snapshot))
    tolerated(lambda: restic.diff(older, snapshot))
    if job.restore_rotation is not None:
        drive_rotation(remote, job, restic, snapshot)
    if job.source is None or job.samples is None:
        return
    sample, folder = f"{job.source}/{job.samples.file}", f"{job.source}/{job.samples.directory}"
    tolerated(lambda: restic.find(snapshot, sample))
    tolerated(lambda: restic.ls(snapshot, folder))
    tolerated(lambda: repository.sample_listed(remote, job))
    if job.retention is not None:
        tolerated(lambda: restic.retention_dry_run([], [snapshot]))
    with scratch.scratch_dir(remote, job) as target:
        tolerated(lambda: restic.restore(snapshot, target))
        tolerated(lambda: restic.restore(snapshot, target, (sample, folder), verify=True))
        tolerated(lambda: progress.written_into(remote, target)())
        tolerated(lambda: manifest.hash_tree(remote, f"{target}{job.source}", missing_ok=True))
        relative = [job.samples.file, job.samples.directory]
        tolerated(lambda: manifest.hash_tree(remote, f"{target}{job.source}", relative, missing_ok=True))
    tolerated(lambda: manifest.hash_tree(remote, job.source))
    tolerated(lambda: manifest.hash_tree(remote, job.source, [job.samples.file]))


# files a rotation chose, as restic lists them (hostile: a space before a dash or at the end,
# a leading dash, a newline, pattern characters, quotes)
CHOSEN = ["active/a b  c.txt", "active/x\npwned\n", "active/--x=$(pwned)", "active/*", "active/a - b",
          "active/trail  ", "active/-", "active/it's'; pwned; '", "active/caf\ufffd"]


def drive_rotation(remote: Remote, job: Job, restic: Restic, snapshot: Snapshot) -> None:
    """The restore rotation (restore.feature): the snapshot's files listed, the chosen ones
    restored into scratch, then hashed there and in the source."""
    tolerated(lambda: restic.files(snapshot))
    with scratch.scratch_dir(remote, job) as target:
        tolerated(lambda: restic.restore_files(snapshot, target, CHOSEN, 60))
        tolerated(lambda: rotation._hashed(remote, f"{target}{job.source}", CHOSEN))
    tolerated(lambda: rotation._hashed(remote, str(job.source), CHOSEN))


def drive(inventory: Inventory, refused: list[str], capture: type[Captured] = Captured) -> Captured:
    """Every builder a read-only drill of the host's jobs runs."""
    host = next(iter(inventory.hosts.values()))
    remote = Remote(host, timeout=60)
    captured = capture(remote)
    snapshot = Snapshot(id=HEX, short_id=HEX[:8], time=datetime.now(UTC), hostname="motoko", paths=["/flux"])
    older = snapshot.model_copy(update={"id": OLDER, "short_id": OLDER[:8]})
    tolerated(lambda: scratch.sweep(remote))
    tolerated(lambda: scratch.free_bytes(remote, host.scratch))
    for job in inventory.jobs.values():
        drive_job(remote, job, snapshot, older)
    return captured


@pytest.fixture
def refusals(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Commands the transport could not escalate exactly (each a failure of the drill)."""
    found: list[str] = []
    real = privilege.exact_command

    def recording(script: str, limit: int, words: tuple[str, ...] | None = None) -> str:
        try:
            return real(script, limit, words)
        except privilege.NotExact as exc:
            found.append(str(exc))
            raise

    monkeypatch.setattr("backup_drills.core.transport.exact_command", recording)
    return found


def test_every_command_a_read_only_drill_escalates_matches_a_generated_rule(refusals):
    inventory = exact_inventory()
    rules = sudoers.rules_for(inventory, "motoko")
    rules += sudoers.job_rules(tagged(inventory.jobs["flux-borg"]), inventory.hosts["motoko"])
    captured = drive(inventory, refusals)
    assert refusals == []
    unmatched = [words for words in captured.escalated if sudoers.allowed(rules, words) is None]
    assert unmatched == []
    used = {Path(words[0]).name.rsplit("-", 1)[0] if words[0].startswith(privilege.HELPERS)
            else Path(words[0]).name for words in captured.escalated}
    assert used >= {"restic", "borg", "realpath", "scratch-root", "rm", "find", "sweep", "free-bytes",
                    "hash-tree", "read-file", "journalctl", "stat", "hostname", "du", "borg-in-dir",
                    "borg-tagged", "env-password-file", "restic-into"}, used
    borg = [words for words in captured.escalated if Path(words[0]).name == "borg"]
    assert {words[1] for words in borg} >= {"list", "check", "info", "prune"}, borg
    assert not any("sudo" in command for command in captured.plain)
    restic = [words for words in captured.escalated if Path(words[0]).name == "restic"]
    listings = [words for words in restic if "ls" in words]
    assert len(listings) >= 2, restic  # the rotation's listing, and a sample folder's
    assert all("--recursive" in words for words in listings), listings  # each its whole subtree
    into = [words for words in captured.escalated if "/restic-into-" in words[0]]
    included = [w for words in into for w in words if w.startswith("--include=")]
    assert len(included) == len(CHOSEN), into  # its restore, each chosen file one word
    assert not [words for words in restic if "restore" in words], restic  # only through restic-into


def test_every_command_a_read_only_mirror_drill_escalates_matches_a_generated_rule(refusals):
    inventory = exact_inventory("akira")
    assert set(inventory.jobs) == set(MIRROR)
    rules = sudoers.rules_for(inventory, "akira")
    captured = drive(inventory, refusals)
    assert refusals == []
    unmatched = [words for words in captured.escalated if sudoers.allowed(rules, words) is None]
    assert unmatched == []
    rclone = [words[1] for words in captured.escalated if words[0] == "/usr/bin/rclone"]
    assert set(rclone) == {"lsf", "size", "check", "copy", "copyto"}, rclone
    helpers = {Path(words[0]).name.rsplit("-", 1)[0] for words in captured.escalated
               if words[0].startswith(privilege.HELPERS)}
    assert helpers >= {"hash-tree", "read-file", "free-bytes", "sweep"}, helpers
    text = sudoers.sudoers_file(inventory, "akira", "drill-exact")
    assert "Defaults!/usr/bin/rclone env_file=/etc/miket/storage-credentials.env" in text
    one = f"{EXACT_SCRATCH}/drill-vm-1-2-abcdef"
    dest, sample = "b2mirror:space-mirror", "mike/photos/2024"
    reader = sudoers.helper_path("read-file", sudoers.helpers()["read-file"])
    results = "/space/_ops/backups/restore-tests"
    assert sudoers.allowed(rules, [reader, "-newest", results, "65536"])
    assert sudoers.allowed(rules, [reader, "/space/_ops/data-estate/markers/b2_mirror.json", "65536"])
    assert sudoers.allowed(rules, ["/usr/bin/rclone", "copy", f"{dest}/{sample}", f"{one}/{sample}"])
    for words in (["/usr/bin/rclone", "--config", "/tmp/mine.conf", "size", "--json", dest],
                  ["/usr/bin/rclone", "size", "--json", dest, "--config", "/tmp/mine.conf"],
                  ["/usr/bin/rclone", "serve", "http", dest],
                  ["/usr/bin/rclone", "mount", dest, "/mnt"],
                  ["/usr/bin/rclone", "rcd", "--rc-no-auth"],
                  ["/usr/bin/rclone", "copy", dest, f"{one}/.", "--rc"],
                  ["/usr/bin/rclone", "copy", dest, "/etc"],
                  ["/usr/bin/rclone", "copy", dest, f"{one}/../../../etc"],
                  ["/usr/bin/rclone", "copy", f"{dest}/{sample}", f"{one}/{sample}/../../../../etc"],
                  ["/usr/bin/rclone", "copyto", f"{dest}/x", "/etc/cron.d/x"],
                  ["/usr/bin/rclone", "copy", "/space", dest],  # a write to the mirror
                  ["/usr/bin/rclone", "copy", "evil:bucket", f"{one}/."],
                  ["/usr/bin/rclone", "sync", dest, f"{one}/."],
                  ["/usr/bin/rclone", "delete", dest],
                  ["/usr/bin/rclone", "lsf", "-R", "--files-only", "/etc"],
                  ["/usr/bin/rclone", "size", "--json", ":sftp,ssh='sh -c id':x"],
                  ["/usr/bin/rclone", "check", "--one-way", "/space", dest, "--combined", "-",
                   "--metadata-mapper", "id"],
                  ["/usr/bin/rclone", "check", "--one-way", "/space", dest, "--combined", "/etc/passwd"],
                  ["/usr/bin/rclone", "lsf", "--max-depth", "1", "--contimeout", "10s", "--timeout",
                   "40s", "--low-level-retries", "1", "--retries", "1", "--password-command", "id", dest],
                  [reader, "-newest", "/etc", "65536"],
                  [reader, "-newest", f"{results}/../../../etc", "65536"],
                  [reader, "-newest", results, "999999999"],  # another bound
                  [reader, "/etc/shadow", "65536"],
                  [reader, "/space/_ops/data-estate/markers/b2_mirror.json", "65536", "/etc/shadow"]):
        assert sudoers.allowed(rules, words) is None, words
    lab = load_inventory(ROOT / "inventory/lab.yml")
    fly = lab.jobs["space-mirror"].model_copy(update={"destination": ":s3,env_auth=true:space-mirror"})
    with pytest.raises(sudoers.NotCovered, match="on-the-fly"):
        sudoers.job_rules(fly, lab.hosts["akira"])


def test_every_command_a_read_only_database_drill_escalates_matches_a_generated_rule(refusals):
    """Cartae's restic job, its pg_dump and its Redis RDB: the dumps restored into scratch
    servers that a throwaway user runs; what runs as that user goes through runuser, each
    program with its options pinned; making and removing the user only through the helper."""
    inventory = exact_inventory("cartae")
    assert {job.kind for job in inventory.jobs.values()} == {"restic", "pg-dump", "redis-rdb"}
    rules = sudoers.rules_for(inventory, "cartae")
    captured = drive(inventory, refusals, DatabaseCaptured)
    assert refusals == []
    unmatched = [words for words in captured.escalated if sudoers.allowed(rules, words) is None]
    assert unmatched == []
    used = {Path(words[0]).name.rsplit("-", 1)[0] if words[0].startswith(privilege.HELPERS)
            else Path(words[0]).name for words in captured.escalated}
    assert used >= {"throwaway-user", "scratch-hand-over", "pg-start", "redis-load", "manifest",
                    "runuser", "restic", "cat"}, used
    as_user = [Path(words[4]).name for words in captured.escalated if words[0] == "/usr/sbin/runuser"]
    assert set(as_user) == {"pg_restore", "psql", "pg_ctl", "redis-cli"}, as_user
    actions = [words[1] for words in captured.escalated if "/throwaway-user-" in words[0]]
    assert sorted(actions) == ["add", "add", "remove", "remove"], actions
    psql = [words for words in captured.escalated if words[0] == "/usr/sbin/runuser" and
            Path(words[4]).name == "psql"]
    assert [words[-2] for words in psql] == ["-c"] * 5, psql  # tables, checksums, 3 smoke queries
    assert any('"app"."We_ird"' in words[-1] for words in psql), psql
    assert captured.queries == []  # no query on psql's stdin, where a meta-command would run
    assert not any("sudo" in command for command in captured.plain)
    for rule in rules:  # runuser only as a throwaway user, only one of its pinned programs
        if rule.program == "/usr/sbin/runuser":
            assert rule.args.startswith(AS_THROWAWAY), rule
            assert rule.args.removeprefix(AS_THROWAWAY).startswith(RUN_AS_THROWAWAY), rule
    code = sudoers.helpers()
    user, one = "drill-0123456789", f"{EXACT_SCRATCH}/drill-vm-1-2-abcdef"
    restore = next(words[:4] for words in captured.escalated if "/restic-into-" in words[0])
    throwaway = sudoers.helper_path("throwaway-user", code["throwaway-user"])
    start = sudoers.helper_path("pg-start", code["pg-start"])
    hand = sudoers.helper_path("scratch-hand-over", code["scratch-hand-over"])
    load = sudoers.helper_path("redis-load", code["redis-load"])
    pg, runuser = "/usr/lib/postgresql/15/bin", "/usr/sbin/runuser"
    server = ["-h", f"{one}-home/data", "-p", "54329", "-U", "drill_restore", "-d", "cartae"]
    assert sudoers.allowed(rules, [throwaway, "add", user, "drill-vm-1-2-abcdef"])
    psql = [runuser, "-u", user, "--", f"{pg}/psql", *server, "-X", "-At", "-F", "\t", "-v",
            "ON_ERROR_STOP=1"]
    assert sudoers.allowed(rules, [*psql, "-c", "SELECT 1"])
    for words in ([runuser, "-u", "root", "--", *psql[4:], "-c", "SELECT 1"],
                  psql,  # a query on stdin: psql would run its meta-commands
                  [*psql, "-c", "\\! id"],
                  [*psql, "-c", "SELECT 1; COPY x TO PROGRAM 'id'"],
                  [*psql, "-c", "SELECT 1", "-c", "\\! id"],
                  [*psql, "-c", 'SELECT 0, count(*), md5(x) FROM "a"."b" AS t; \\! id'],
                  [*psql, "-c", sudoers.helpers()["manifest"]],
                  [runuser, "-u", "postgres", "--", f"{pg}/pg_ctl", "-D", f"{one}-home/data", "-m",
                   "immediate", "stop"],
                  [runuser, "-u", user, "--", "/bin/sh", "-c", "id"],
                  [runuser, "-u", user, "--", "sh"],
                  [runuser, "-u", "drill-x", "--", f"{pg}/pg_ctl", "-D", f"{one}-home/data", "-m",
                   "immediate", "stop"],
                  [runuser, "-u", user, "-g", "root", "--", f"{pg}/pg_ctl", "-D", f"{one}-home/data", "-m",
                   "immediate", "stop"],
                  [runuser, "-u", user, "--", f"{pg}/pg_ctl", "-D", f"{one}-home/data", "-o",
                   "-c archive_command=id", "start"],
                  [runuser, "-u", user, "--", f"{pg}/pg_ctl", "-D", f"{one}-home/data", "-m", "immediate",
                   "stop", "-o", "-c shared_preload_libraries=/tmp/x"],
                  [*psql, "-f", "/etc/shadow"],
                  [*psql[:11], "drill_admin", *psql[12:], "-c", "SELECT 1"],
                  [*psql, "-o", "|id", "-c", "SELECT 1"],
                  # a table name is letters, digits, _ and $ only: sudo joins the words with
                  # spaces, so a name with spaces could be split into options of psql's own
                  [*psql, "-c", CHECKSUM.format(index=0, table='"a"."x'), "-o", "|id", 'y"'],
                  [*psql, "-c", CHECKSUM.format(index=0, table='"a"."we""ird t"')],
                  [runuser, "-u", user, "--", f"{pg}/pg_restore", *server, "--no-owner", "--no-privileges",
                   "--exit-on-error", "/etc/shadow"],
                  [runuser, "-u", user, "--", "/tmp/psql", *server],
                  [runuser, "-u", user, "--", "/usr/bin/redis-server", "/tmp/evil.conf"],
                  [runuser, "-u", user, "--", "/usr/bin/redis-cli", "-s", f"{one}-home/redis.sock", "config",
                   "set", "dir", "/etc"],
                  [f"{pg}/psql", *server, "-X", "-At"],  # psql as root
                  ["/usr/bin/psql", "-U", "postgres"],
                  [throwaway, "add", "root", "drill-vm-1-2-abcdef"],
                  [throwaway, "remove", "root"],
                  [throwaway, "remove", "postgres"],
                  [throwaway, "remove", "drill-x"],
                  [throwaway, "remove", f"{user} root"],
                  [throwaway, "add", user, "x:0:0::/root:/bin/sh"],
                  [start, f"{one}-home", "root", "drill_admin", "drill_restore", "cartae", "54329", ""],
                  [start, "/etc", user, "drill_admin", "drill_restore", "cartae", "54329", ""],
                  [start, f"{one}-home", user, "drill_admin", "drill_restore", "cartae", "54329", "evil"],
                  [hand, one, "/etc/shadow", f"{one}-home", "dump", user],
                  [hand, one, f"{one}/var/backups/cartae/postgres/cartae.dump", f"{one}-home", "dump",
                   "root"],
                  [load, f"{one}-home", "root", "Fatal"],
                  # the home beside the run folder is opened to the throwaway user: no restore
                  # (which keeps setuid bits, as root) may write there, nor into a folder of it
                  [restore[0], f"{one}-home", *restore[2:]], [restore[0], f"{one}-home/x", *restore[2:]],
                  [restore[0], f"{one}/../{one.rsplit('/', 1)[1]}-home", *restore[2:]],
                  ["/usr/bin/restic", "-r", restore[2], "--no-lock", "restore", restore[3], "--target",
                   f"{one}-home"],
                  [hand, one, f"{one}/var/backups/cartae/postgres/cartae.dump", f"{one}/pg", "dump", user],
                  ["/usr/bin/pkill", "-u", user], ["/usr/sbin/userdel", user], ["/usr/sbin/useradd", user]):
        assert sudoers.allowed(rules, words) is None, words
    lab = load_inventory(ROOT / "inventory/lab.yml")
    with pytest.raises(sudoers.NotCovered, match="nextcloud-db: a dump fetched from a mirror"):
        sudoers.job_rules(lab.jobs["nextcloud-db"], lab.hosts["akira"])


def test_every_command_a_read_only_tarball_drill_escalates_matches_a_generated_rule(refusals):
    inventory = exact_inventory("miraclemax")
    assert {job.kind for job in inventory.jobs.values()} == {"gpg-tar"}
    rules = sudoers.rules_for(inventory, "miraclemax")
    captured = drive(inventory, refusals)
    assert refusals == []
    unmatched = [words for words in captured.escalated if sudoers.allowed(rules, words) is None]
    assert unmatched == []
    used = {Path(words[0]).name.rsplit("-", 1)[0] if words[0].startswith(privilege.HELPERS)
            else Path(words[0]).name for words in captured.escalated}
    assert used >= {"find", "first-bytes", "archive-unpack", "hash-tree", "read-file", "scratch-root",
                    "rm"}, used
    code = sudoers.helpers()
    unpack = sudoers.helper_path("archive-unpack", code["archive-unpack"])
    first = sudoers.helper_path("first-bytes", code["first-bytes"])
    one = f"{EXACT_SCRATCH}/drill-vm-1-2-abcdef"
    archive, home = "/home/jbyrd/backups/miraclemax/20261122_030000/n8n.tar.gz.gpg", "/root/.gnupg"
    assert sudoers.allowed(rules, [unpack, archive, f"{one}/n8n", "yes", "1048576", home])
    for words in ([unpack, archive, f"{one}/n8n", "yes", "9", "/tmp/mine"],  # another gpg home
                  [unpack, archive, f"{one}/n8n", "yes", "9", ""],
                  [unpack, archive, "/etc", "no", "9", home],
                  [unpack, archive, f"{one}/../../../etc", "no", "9", home],
                  [unpack, "/tmp/mine.tar.gz", f"{one}/n8n", "no", "9", home],
                  [unpack, "/home/jbyrd/backups/miraclemax/../../../tmp/n8n.tar.gz", f"{one}/n8n", "no", "9",
                   home],
                  [unpack, "--to-command=sh", f"{one}/n8n", "no", "9", home],
                  [unpack, archive, f"{one}/n8n", "no", "9", f"{home} --exec-path /tmp"],
                  [unpack, archive, f"{one}/n8n", "no", "-1", home],
                  [unpack, archive, f"{one}/n8n", "no", home],  # no room given: never uncut
                  [first, "/etc/shadow"],
                  [first, "/home/jbyrd/backups/miraclemax/../n8n.tar.gz"],
                  ["/usr/bin/find", "-H", "/", "-mindepth", "2", "-maxdepth", "2", "-type", "f",
                   "-printf", "%p"],
                  ["/usr/bin/find", "-H", "/home/jbyrd/backups/miraclemax", "-exec", "sh", ";"],
                  ["/usr/bin/cat", "--", "/etc/shadow"],
                  ["/usr/bin/tar", "-xf", archive, "--to-command=sh"],
                  ["/usr/bin/tar", "-I", "sh", "-xf", archive],
                  ["/usr/bin/tar", "--use-compress-program=sh", "-xf", archive],
                  ["/usr/bin/tar", "--checkpoint-action=exec=sh", "-xf", archive],
                  ["/usr/bin/gpg", "--homedir", home, "--exec-path", "/tmp", "--decrypt", archive],
                  ["/usr/bin/gpg", "--load-extension", "/tmp/x.so", "--decrypt", archive]):
        assert sudoers.allowed(rules, words) is None, words
    lab = load_inventory(ROOT / "inventory/lab.yml")
    job = lab.jobs["actual-budget"]
    assert job.archives is not None
    homeless = job.model_copy(update={"archives": job.archives.model_copy(update={"gnupghome": None})})
    with pytest.raises(sudoers.NotCovered, match="gnupghome is not set"):
        sudoers.job_rules(homeless, lab.hosts["miraclemax"])


def test_no_rule_hands_out_a_shell_or_free_arguments():
    inventory = exact_inventory()
    rules = sudoers.rules_for(inventory, "motoko")
    text = sudoers.sudoers_file(inventory, "motoko", "drill-exact")
    # runuser: only as a throwaway user (test_every_command_a_read_only_database_drill_...)
    assert {Path(p).name for p in privilege.PROGRAMS.values()} & ROOT_GIVING == {"runuser"}
    assert set(sudoers.COVERED) == set(sudoers._TOOL_RULES)  # every covered kind has its rules
    for rule in rules:
        assert rule.program.startswith("/"), rule
        assert rule.args or rule.program.endswith("/hostname"), rule
        # no free word, but the rotation's paths to hash: the helper refuses one out of its root
        # (test_the_rotations_words_can_be_no_option_and_hash_nothing_out_of_the_tree)
        hashes_chosen = rule.why.startswith("hash the rotation's") and rule.args.endswith(" --HASHES-- \\..*")
        assert hashes_chosen or not re.search(r"\.\*|\.\+|\[\^ \]\*|\[\^ \]\+", rule.args), rule
        if rule.program.startswith(privilege.HELPERS):
            assert rule.digest is not None
            assert rule.program.endswith(rule.digest[:12])
    repo = "s3:http://objectstore:8333/backups-restic/flux"
    scratch_dir = f"{EXACT_SCRATCH}/drill-vm-1-2-abcdef"
    for words in (["/usr/bin/restic", "-r", repo, "--password-command", "id", "snapshots"],
                  ["/usr/bin/restic", "-r", repo, "--no-lock", "-o", "s3.x=y", "cat", "config"],
                  ["/usr/bin/restic", "-r", repo, "--no-lock", "restore", HEX, "--target", "/etc"],
                  ["/usr/bin/restic", "-r", "/tmp/mine", "--no-lock", "snapshots", "--host", "m", "--json"],
                  ["/usr/bin/rm", "-rf", "--one-file-system", "--", f"{EXACT_SCRATCH}/../../etc"],
                  ["/usr/bin/rm", "-rf", "--one-file-system", "--", f"{scratch_dir} /etc"],
                  ["/usr/bin/find", EXACT_SCRATCH, "-exec", "sh", ";"],
                  ["/usr/bin/hostname", "evil"],
                  ["/usr/bin/stat", "-c", "%s", "--", "/etc/shadow"],
                  [sudoers.helper_path("read-file", sudoers.helpers()["read-file"]), "/etc/shadow", "65536"]):
        assert sudoers.allowed(rules, words) is None, words
    in_dir = sudoers.helper_path("borg-in-dir", sudoers.helpers()["borg-in-dir"])
    repo, archive = "/srv/borg/flux", "/srv/borg/flux::motoko-2026-11-29T03:30:00"
    for words in (["/usr/bin/borg", "--rsh", "sh -c id", "list", "--json", "--bypass-lock", repo],
                  ["/usr/bin/borg", "list", "--json", "--bypass-lock", "--remote-path", "id", repo],
                  ["/usr/bin/borg", "list", "--json", "--bypass-lock", "ssh://evil/x"],
                  ["/usr/bin/borg", "extract", "--bypass-lock", archive],  # in sudo's own cwd
                  ["/usr/bin/borg", "info", "--json", "--bypass-lock", "/srv/borg/flux::a b"],
                  ["/usr/bin/borg", "prune", "--list", "--lock-wait", "30", "--keep-daily=1", repo],
                  ["/usr/bin/borg", "check", "--repair", "--lock-wait", "30", repo],
                  [in_dir, "/etc", "extract", "--bypass-lock", archive],
                  [in_dir, scratch_dir, "create", "--bypass-lock", archive],
                  [in_dir, f"{scratch_dir}/../../../etc", "extract", "--bypass-lock", archive]):
        assert sudoers.allowed(rules, words) is None, words
    assert sudoers.allowed(rules, [in_dir, scratch_dir, "extract", "--bypass-lock", archive])
    # the scratch root's check makes one run folder, named, in the inventory's scratch only, or
    # checks it alone (-), always strictly (exact: no folder above it writable by others, sticky
    # or not): no other root, no path for a name, no plain mkdir (mkdir -p followed a planted
    # symlink), and not without exact
    root = sudoers.helper_path("scratch-root", sudoers.helpers()["scratch-root"])
    for words in ([root, "/etc", "drill-vm-1-2-abcdef", "exact"], [root, EXACT_SCRATCH, "../../etc", "exact"],
                  [root, EXACT_SCRATCH, "drill-vm-1-2-abcdef/x", "exact"],
                  [root, EXACT_SCRATCH, "drill-vm-1-2-abcdef /etc", "exact"],
                  [root, EXACT_SCRATCH, "drill-vm-1-2-abcdef"], [root, EXACT_SCRATCH, "-"],
                  [root, "/var/tmp/backup-drill", "drill-vm-1-2-abcdef", "exact"],
                  ["/usr/bin/mkdir", "-p", "-m", "0700", "--", scratch_dir]):
        assert sudoers.allowed(rules, words) is None, words
    assert sudoers.allowed(rules, [root, EXACT_SCRATCH, "drill-vm-1-2-abcdef", "exact"])
    assert sudoers.allowed(rules, [root, EXACT_SCRATCH, "-", "exact"])
    assert f"# BEFORE installing it, make the scratch root as root: mkdir -p -m 0700 {EXACT_SCRATCH}\n" \
        in text
    assert sudoers.allowed(rules, ["/usr/bin/rm", "-rf", "--one-file-system", "--", scratch_dir,
                                   f"{scratch_dir}-home"])
    into = sudoers.helper_path("restic-into", sudoers.helpers()["restic-into"])
    for program in ("/usr/bin/restic", "/usr/bin/borg", in_dir, into):
        assert f"Defaults!{program} env_file=/etc/miket/storage-credentials.env" in text
    assert 'Defaults!/usr/bin/borg env_keep+="TZ=UTC BORG_RELOCATED_REPO_ACCESS_IS_OK=no"' in text
    assert not re.search(r"NOPASSWD: (ALL|/usr/bin/(timeout|env|sh)\b)", text)


def test_the_rotations_words_can_be_no_option_and_hash_nothing_out_of_the_tree(tmp_path):
    """The rotation's restore allows any chosen file's ``--include=`` word, and so no word that
    restic could read as an option (sudo matches the words joined by spaces: a rule cannot
    see where a word ends); its hashing allows any paths, and the pinned helper itself
    refuses one that leaves its root (``..``, absolute, through a symlink), reading nothing."""
    inventory = exact_inventory()
    rules = sudoers.rules_for(inventory, "motoko")
    repo = "s3:http://objectstore:8333/backups-restic/flux"
    one = f"{inventory.hosts['motoko'].scratch}/drill-vm-1-2-abcdef"
    into = sudoers.helper_path("restic-into", sudoers.helpers()["restic-into"])
    restore = [into, one, repo, HEX]
    chosen = [include_word(f"/flux/{p}") for p in CHOSEN]
    assert sudoers.allowed(rules, [*restore, *chosen])
    ok = include_word("/flux/active/a")
    for words in ([*restore, ok, "--target", "/etc"], [*restore, ok, "", "--target", "/etc"],
                  # restic itself restores nothing: only restic-into, into RUN/ID
                  ["/usr/bin/restic", "-r", repo, "--no-lock", "restore", HEX, "--target", one, *chosen],
                  [into, f"{one}-home", repo, HEX, *chosen], [into, f"{one}/x", repo, HEX, *chosen],
                  [into, one, "/etc", HEX, *chosen], [into, one, repo, "--target", *chosen],
                  [*restore, f"{ok} ", "--target", "/etc"], [*restore, f"{ok}  ", "-t", "/etc"],
                  [*restore, ok, "--password-command=id"], [*restore, ok, "-o", "s3.x=y"],
                  [*restore, ok, "--exclude=x"], [*restore, "--include", "/flux/active/a"],
                  [*restore, "--include=/etc/shadow"], [*restore, "--iinclude=/flux/a"],
                  [*restore[:-2], "/etc", HEX, ok], [*restore, "--include=/flux/a - b"],
                  ["/usr/bin/restic", "-r", repo, "--no-lock", "ls", "--json", "--recursive", "--", HEX, "/"],
                  ["/usr/bin/restic", "-r", repo, "--no-lock", "ls", "--json", "--recursive", "--", HEX,
                   "/flux", "/etc"]):
        assert sudoers.allowed(rules, words) is None, words
    helper = sudoers.helper_path("hash-tree", sudoers.helpers()["hash-tree"])
    for words in ([helper, "/etc", "0", "yes", "--HASHES--", "./shadow"],
                  [helper, f"{inventory.hosts['motoko'].scratch}/x/flux", "0", "yes", "--HASHES--", "./a"]):
        assert sudoers.allowed(rules, words) is None, words
    # the restored side always checks its root is its own real path (yes): never no in scratch
    for restored in (f"{one}/flux", f"{one}/{HEX}/flux"):
        assert sudoers.allowed(rules, [helper, restored, "0", "yes", "--HASHES--", "."])
        assert sudoers.allowed(rules, [helper, restored, "0", "no", "--HASHES--", "."]) is None
    assert sudoers.allowed(rules, [helper, "/flux", "0", "yes", "--HASHES--", "../etc/shadow"])  # so:
    root, outside = tmp_path / "flux", tmp_path / "outside"
    (root / "d").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret").write_text("root's only\n")
    (root / "d" / "f").write_text("mine\n")
    (root / "link").symlink_to(outside)
    code = SCRIPTS / "hash-tree.sh"
    secret = hashlib.sha256(b"root's only\n").hexdigest()
    for path in ("../outside/secret", "./../outside/secret", "./d/../../outside/secret", "./link/secret",
                 "./link/", "./link/.", str(outside / "secret"), "./d//f", "-H", "./d/f/..", "./d/./f"):
        done = subprocess.run(["sh", str(code), str(root), "1", "yes", "--HASHES--", "./d/f", path],
                              capture_output=True, timeout=30)
        assert done.returncode == 45, (path, done)
        assert done.stdout == b"", (path, done.stdout)  # refused before anything is listed or read
    fine = subprocess.run(["sh", str(code), str(root), "1", "no", "--HASHES--", "./d/f", "./link"],
                          capture_output=True, timeout=30)
    assert fine.returncode == 0, fine
    assert hashlib.sha256(b"mine\n").hexdigest().encode() in fine.stdout  # the link itself: never followed
    assert secret.encode() not in fine.stdout


def test_a_borg_rotations_words_match_its_rules_and_can_be_no_option(refusals):
    """borg's rotation: the archive's files listed, the chosen ones extracted into scratch by
    the ``borg-in-dir`` helper, each one ``pp:`` word (``sh:`` with ``?`` for a space before a
    dash, another space or the end); no word can be one of borg's options."""
    inventory = exact_inventory()
    host = inventory.hosts["motoko"]
    job = inventory.jobs["flux-borg"].model_copy(update={"restore_coverage": "*/4"})
    rules = [*sudoers.host_rules(host), *sudoers.job_rules(job, host)]
    remote = Remote(host, timeout=60)
    captured = Captured(remote)
    name = "motoko-2026-11-29T03:30:00"
    archive = Snapshot(id=HEX, short_id=name, time=datetime.now(UTC), hostname="motoko", paths=["/flux"])
    borg = Borg(remote, job)
    tolerated(lambda: borg.files(archive))
    with scratch.scratch_dir(remote, job) as target:
        tolerated(lambda: borg.restore_files(archive, target, CHOSEN, 60))
        tolerated(lambda: rotation._hashed(remote, f"{target}{job.source}", CHOSEN))
    assert refusals == []
    assert [words for words in captured.escalated if sudoers.allowed(rules, words) is None] == []
    extracted = [w for words in captured.escalated for w in words if w.startswith(("pp:", "sh:"))]
    assert len(extracted) == len(CHOSEN), captured.escalated
    assert any("--json-lines" in words for words in captured.escalated)
    in_dir = sudoers.helper_path("borg-in-dir", sudoers.helpers()["borg-in-dir"])
    extract = [in_dir, f"{host.scratch}/drill-vm-1-2-abcdef", "extract", "--bypass-lock",
               f"/srv/borg/flux::{name}"]
    ok = "pp:flux/active/a"
    assert sudoers.allowed(rules, [*extract, ok])
    for words in ([*extract, ok, "--rsh", "sh -c id"], [*extract, ok, "", "--remote-path=id"],
                  [*extract, f"{ok} ", "--pattern=+etc"], [*extract, ok, "-e", "x"],
                  [*extract, "pp:etc/shadow"], [*extract, "re:.*"], [*extract, "pp:flux/active/a - b"],
                  ["/usr/bin/borg", "list", "--json-lines", "--bypass-lock", "/srv/borg/flux", "--rsh=id"]):
        assert sudoers.allowed(rules, words) is None, words


def test_the_transport_escalates_one_program_with_timeout_outside_sudo():
    assert privilege.exact_words("restic -r /srv/r snapshots", 30)[:8] == [
        "timeout", "-k", "5", "30", "sudo", "-n", "--", "/usr/bin/restic"]
    helper = privilege.escalated(shlex.join(["sh", "-c", "cat -- \"$1\"", "read-marker", "/m x"]))
    assert helper == [privilege.helper_path("read-marker", 'cat -- "$1"'), "/m x"]
    for command in ("restic snapshots | sh", "env X=1 restic snapshots", "timeout 5 sh -c id", "curl x"):
        with pytest.raises(privilege.NotExact):
            privilege.escalated(command)


@pytest.mark.parametrize("scratch", ["/var/tmp/backup-drill", "/tmp/x", "/dev/shm/d", "/run/user/1000/d",
                                     "/var/tmp", "/run/lock/d", "/var/crash/d", "/home/drill/scratch"])
def test_a_scratch_root_another_user_could_make_first_is_refused(tmp_path, capsys, scratch):
    """Under ``sudo: exact`` sudoers lets the drilling user restore into SCRATCH/drill-... as
    root at any time: a root below a folder others may write (sticky or not) is refused, exit
    4, naming host, the key and its value and what is expected; a root-only one passes."""
    inventory = tmp_path / "motoko.yml"
    doc = yaml.safe_load((ROOT / "inventory/lab.yml").read_text())
    doc["hosts"] = {"motoko": doc["hosts"]["motoko"] | {"sudo": "exact", "scratch": scratch}}
    doc["jobs"] = {k: {f: v for f, v in j.items() if f != "writes"} for k, j in doc["jobs"].items()
                   if j["host"] == "motoko" and j["kind"] in sudoers.COVERED}
    inventory.write_text(yaml.safe_dump(doc, allow_unicode=True))
    assert main(["sudoers", "--inventory", str(inventory)]) == 4
    said = capsys.readouterr()
    assert said.out == ""
    assert said.err.startswith(f"backup-drills sudoers: host motoko: scratch {scratch} lies in /"), said.err
    assert f"expected a folder under a root-only parent (every folder above it root's, not writable by " \
           f"group or others) such as {EXACT_SCRATCH}" in said.err
    doc["hosts"]["motoko"]["scratch"] = "/srv/drill-scratch"
    inventory.write_text(yaml.safe_dump(doc, allow_unicode=True))
    assert main(["sudoers", "--inventory", str(inventory)]) == 0
    assert "mkdir -p -m 0700 /srv/drill-scratch" in capsys.readouterr().out


def test_a_kind_it_cannot_pin_is_refused_naming_job_and_kind(capsys):
    assert main(["sudoers", "--inventory", str(ROOT / "inventory/lab.yml"), "--host", "motoko"]) == 4
    said = capsys.readouterr()
    assert said.out == ""
    assert "job flux-backup: writes: allowed needs the write programs" in said.err
    assert "flux-borg" not in said.err  # borg is covered
    assert main(["sudoers", "--inventory", str(ROOT / "inventory/lab.yml"), "--host", "akira"]) == 4
    said = capsys.readouterr()
    assert said.out == ""
    assert "job nextcloud-db: a dump fetched from a mirror is not covered by `sudo: exact` yet" in said.err
    assert "job space-mirror" not in said.err  # covered
    assert "job restore-test" not in said.err
    lab = load_inventory(ROOT / "inventory/lab.yml")
    with pytest.raises(sudoers.NotCovered, match="flux-backup: writes: allowed"):
        sudoers.job_rules(lab.jobs["flux-backup"], lab.hosts["motoko"])


def test_the_command_prints_the_file_and_writes_the_helpers(tmp_path, capsys):
    inventory = tmp_path / "motoko.yml"
    doc = yaml.safe_load((ROOT / "inventory/lab.yml").read_text())
    doc["hosts"] = {"motoko": doc["hosts"]["motoko"] | {"sudo": "exact"}}
    doc["jobs"] = {k: {f: v for f, v in j.items() if f != "writes"} for k, j in doc["jobs"].items()
                   if j["host"] == "motoko" and j["kind"] in sudoers.COVERED}
    inventory.write_text(yaml.safe_dump(doc, allow_unicode=True))
    assert main(["sudoers", "--inventory", str(inventory), "--user", "drill-exact",
                 "--helpers", str(tmp_path / "helpers")]) == 0
    text = capsys.readouterr().out
    assert text == sudoers.sudoers_file(load_inventory(inventory), "motoko", "drill-exact", str(inventory))
    for path, content in sudoers.helper_files(load_inventory(inventory), "motoko").items():
        assert (tmp_path / "helpers" / Path(path).name).read_text() == content
        assert f"sha256:{hashlib.sha256(content.encode()).hexdigest()} {path} " in text


def test_docs_security_shows_the_rights_the_code_generates():
    doc = (ROOT / "docs/security.md").read_text()
    start, end = "<!-- generated: backup-drills sudoers rights -->", "<!-- end generated -->"
    assert start in doc, "docs/security.md lacks the generated rights table"
    assert end in doc
    shown = doc.split(start, 1)[1].split(end, 1)[0].strip()
    assert shown == sudoers.rights_table(exact_inventory(), "motoko").strip(), (
        "docs/security.md's rights table differs from the generator: paste "
        "backup_drills.inventory.sudoers.rights_table() output between its markers")
    for host in ("akira", "miraclemax", "cartae"):
        start = f"<!-- generated: backup-drills sudoers rights {host} -->"
        assert start in doc, f"docs/security.md lacks {host}'s generated rights table"
        shown = doc.split(start, 1)[1].split(end, 1)[0].strip()
        assert shown == sudoers.rights_table(exact_inventory(host), host).strip(), (
            f"docs/security.md's rights table of {host} differs from the generator")
