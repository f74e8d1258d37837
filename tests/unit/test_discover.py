"""``backup-drills discover``: units, cron lines and scripts recorded from the lab's motoko and
cartae (tests/unit/recorded/discover/<host>/, files at their host paths; the env files hold fake
values), read through a real local shell; and hostile values, which must reach no shell as shell
text and no YAML as YAML."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from backup_drills.cli import main
from backup_drills.core.transport import Remote, Result
from backup_drills.inventory.discover import (
    PLACEHOLDER_RPO,
    PLACEHOLDER_RTO,
    Found,
    HostReport,
    RemoteFiles,
    Trigger,
    comment,
    cron_triggers,
    jobs_of,
    mask_secrets,
    render,
    timer_triggers,
)
from backup_drills.inventory.discover_scripts import Var, parse_tool, parse_unit, python_calls, shell_calls
from backup_drills.inventory.schema import Host, InventoryError, load_inventory
from tests.unit.test_hostile_corpus import CORPUS as HOSTILE_CORPUS

RECORDED = Path(__file__).parent / "recorded" / "discover"
SECRETS = ("fake-secret-value", "fake-restic-password", "fake-borg-passphrase", "AKIAFAKE")
# the hostile corpus of every command builder, less bytes that are not UTF-8 (the samples'
# cases plant such a name themselves)
CORPUS = {name: value for name, value in HOSTILE_CORPUS.items()
          if name != "non-utf8"}


class RootedFiles(RemoteFiles):
    """The host's files under a folder of this machine: ``/etc/x`` is ``ROOT/etc/x``, read by
    the same commands (head, find, awk) through a real local shell."""

    def __init__(self, remote: Remote, root: Path) -> None:
        super().__init__(remote)
        self.root = str(root)

    def read(self, path: str) -> str | None:
        return super().read(self.root + path) if path.startswith("/") else None

    def list_dir(self, path: str, suffix: str) -> list[str] | None:
        found = super().list_dir(self.root + path, suffix) if path.startswith("/") else None
        return None if found is None else [p.removeprefix(self.root) for p in found]

    def env_file(self, path: str, wanted: set[str]) -> tuple[list[str], dict[str, str]] | None:
        return super().env_file(self.root + path, wanted) if path.startswith("/") else None


def _timer(host: str, name: str) -> list[Trigger]:
    timer = parse_unit((RECORDED / host / f"{name}.timer.cat").read_text())
    return timer_triggers(host, f"{name}.timer", timer.on_calendar, f"{name}.service",
                          (RECORDED / host / f"{name}.service.cat").read_text())


def test_units_as_recorded_give_their_commands_environment_and_calendar():
    borg = parse_unit((RECORDED / "motoko" / "flux-borg.service.cat").read_text())
    assert borg.exec_start == ["/usr/local/sbin/borg-job"]
    assert borg.environment == {"BORG_REPO": "/srv/borg/flux", "BORG_SOURCE": "/flux/active"}
    assert borg.environment_files == ["/etc/miket/storage-credentials.env"]
    assert parse_unit((RECORDED / "motoko" / "flux-borg.timer.cat").read_text()).on_calendar == \
        ["*-*-* 03:30:00"]
    # a drop-in's empty assignment resets the list, as systemd reads it
    dropped = parse_unit("[Timer]\nOnCalendar=daily\n# /etc/systemd/system/x.timer.d/o.conf\n"
                         "[Timer]\nOnCalendar=\nOnCalendar=*-*-* 01:00\n")
    assert dropped.on_calendar == ["*-*-* 01:00"]


def test_motoko_jobs_from_its_recorded_units_and_scripts(local):
    files = RootedFiles(local, RECORDED / "motoko")
    names: dict[str, list[str]] = {}
    (restic,), notes = jobs_of(_timer("motoko", "flux-backup")[0], files, names)
    assert not notes
    assert restic.job == {"kind": "restic", "source": "/flux",
                          "repository": "s3:http://objectstore:8333/backups-restic/flux",
                          "excludes": ["/flux/scratch/tmp"],
                          "schedule": {"timer": "flux-backup.timer", "service": "flux-backup.service",
                                       "on_calendar": "*-*-* 05:00:00"}}
    assert restic.origin[0].startswith("motoko: flux-backup.timer -> flux-backup.service ExecStart=")
    assert restic.env_file == "/etc/miket/storage-credentials.env"
    assert "RESTIC_PASSWORD" in restic.env_names
    (borg,), _ = jobs_of(_timer("motoko", "flux-borg")[0], files, names)  # two borg create lines: one job
    assert (borg.job["kind"], borg.job["source"], borg.job["repository"]) == \
        ("borg", "/flux/active", "/srv/borg/flux")
    assert borg.job["retention"] == {"daily": 7, "weekly": 4, "monthly": 12}
    check = parse_unit((RECORDED / "motoko" / "restic-check.service.cat").read_text())
    trigger = timer_triggers("motoko", "restic-check.timer", ["*-*-* 06:00:00"], "restic-check.service",
                             (RECORDED / "motoko" / "restic-check.service.cat").read_text())[0]
    assert check.exec_start == ["/usr/local/sbin/backup-job restic-check"]
    (checked,), _ = jobs_of(trigger, files, names)
    assert checked.job["kind"] == "restic-check"
    assert checked.job["repository"] == "s3:http://objectstore:8333/backups-restic/flux"
    text = render([HostReport("motoko", [restic, borg, checked])], {"motoko": {"transport": "ssh://motoko"}})
    assert not any(secret in text for secret in SECRETS)
    assert not any(secret in repr(names) for secret in SECRETS)


def test_cartae_cron_line_followed_through_its_wrapper_into_the_python_job(local):
    files = RootedFiles(local, RECORDED / "cartae")
    path = "/etc/cron.d/cartae-backup"
    (trigger,) = cron_triggers("cartae", path, (RECORDED / "cartae" / "etc/cron.d/cartae-backup").read_text())
    assert trigger.cron == {"file": path, "schedule": "0 2 * * *", "command": "/usr/local/sbin/cartae-backup"}
    (job,), _ = jobs_of(trigger, files, {})
    # the wrapper sources the env file, then execs backup-job cartae -> restic_backup(CARTAE, ...)
    assert job.job["source"] == "/var/backups/cartae"
    assert job.job["repository"] == "s3:http://objectstore:8333/backups-restic/cartae"
    assert job.job["metrics"] == {"url": "http://127.0.0.1:9091/metrics", "labels": {"job": "cartae-backup"}}
    assert job.env_file == "/etc/miket/storage-credentials.env"


def test_env_file_values_only_for_asked_names_never_secret_ones(local, tmp_path):
    env = tmp_path / "x.env"
    env.write_text("RESTIC_PASSWORD=hunter2\nexport RESTIC_REPOSITORY='s3:h/b'\n  DEST=\"r:b\"\n# SECRET=x\n")
    names, values = RemoteFiles(local).env_file(str(env), {"RESTIC_REPOSITORY", "DEST", "RESTIC_PASSWORD"})
    assert names == ["RESTIC_PASSWORD", "RESTIC_REPOSITORY", "DEST"]
    assert values == {"RESTIC_REPOSITORY": "s3:h/b", "DEST": "r:b"}  # the password was never asked


def test_tool_command_lines_by_their_own_option_syntax():
    call = shell_calls("restic -r s3:h/b backup --exclude-file=/e --one-file-system -e '*.tmp' /srv").tools[0]
    parsed = parse_tool(call)
    assert (parsed.command, parsed.positional, parsed.values("-r")) == ("backup", ("/srv",), ["s3:h/b"])
    assert parsed.values("--exclude-file", "-e") == ["/e", "*.tmp"]
    borg = parse_tool(shell_calls('borg create --lock-wait 60 "$REPO::{now}" "${SRC:-/data}"').tools[0])
    assert borg.positional == (None, Var("SRC", "/data"))  # REPO::... is not one variable: not guessed


def test_python_scripts_narrowed_to_the_word_passed_and_never_run():
    script = ("import os, subprocess\nBASE = '/srv'\n"
              "def a(src=''):\n    src = src or os.environ.get('A_SRC', BASE)\n"
              "    subprocess.run(['restic', 'backup', src])\n"
              "def b():\n    subprocess.run(['rclone', 'sync', '/x', os.environ['DEST']])\n"
              "JOBS = {'job-a': a, 'job-b': b}\nraise SystemExit(open('/tmp/pwned', 'w'))\n")
    only_a = python_calls(script, "/s", ("job-a",))
    assert [(c.tool, c.words) for c in only_a.tools] == [("restic", ("backup", "/srv"))]
    only_b = python_calls(script, "/s", ("job-b",), {"DEST": "r:b"})
    assert [(c.tool, c.words) for c in only_b.tools] == [("rclone", ("sync", "/x", Var("DEST")))]
    assert {"A_SRC", "DEST"} <= python_calls(script, "/s").variables
    assert not os.path.exists("/tmp/pwned")


def test_hostile_scripts_end_bounded():
    nested = "x = " + "[" * 5000 + "]" * 5000 + "\n"
    assert python_calls(nested, "/s").tools == []
    calls = "\n".join(f"def f{i}():\n" + "".join(f"    f{i + 1}()\n" for _ in range(20)) for i in range(30))
    assert python_calls(calls + "\ndef f30():\n    ['restic', 'check']\n", "/s").tools  # reached, bounded
    assert shell_calls("restic backup 'unclosed\n").tools == []


@pytest.mark.parametrize("kind", sorted(CORPUS))
def test_hostile_names_reach_commands_as_words_and_yaml_as_values(local, tmp_path, kind, monkeypatch):
    value = CORPUS[kind]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    canary = tmp_path / "canary"
    (bin_dir / "pwned").write_text(f"#!/bin/sh\ntouch {canary}\n")
    (bin_dir / "pwned").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    folder = tmp_path / value.replace("/", "_").replace("\n", "_")
    folder.mkdir()
    target = folder / f"{value.replace('/', '_')}.json"
    target.write_text("{}")
    files = RemoteFiles(local)
    assert files.read(str(target)) == "{}"
    assert files.list_dir(str(folder), ".json") == [str(target)]
    assert files.env_file(str(target), {value.replace("\n", "")}) == ([], {})
    assert not canary.exists()
    # the value as a host's unit, cron file and job would give it to the starter inventory
    found = Found(f"job-{kind}", {"kind": "restic", "source": "/" + value, "repository": value},
                  [f"h: {value}.timer -> ExecStart={value}"], notes=[value])
    text = render([HostReport("h", [found], [value])], {"h": {"transport": "local://"}})
    loaded = yaml.safe_load(text)
    assert set(loaded) == {"name", "hosts", "jobs"}
    (job,) = loaded["jobs"].values()
    assert (job["source"], job["repository"], job["rpo"]) == ("/" + value, value, PLACEHOLDER_RPO)
    assert "\n" not in comment(value)


def test_a_password_in_a_repository_is_masked_and_named():
    report = HostReport("h", [Found("j", {"kind": "restic", "repository": "rest:https://u:hunter2@b/r"}, [])])
    mask_secrets(report)
    assert "hunter2" not in report.jobs[0].job["repository"]
    assert "password" in report.jobs[0].notes[0]


def test_starter_inventory_refused_until_rpo_and_rto_are_filled(tmp_path):
    found = Found("flux", {"kind": "restic", "source": "/flux", "repository": "s3:h/b"}, ["h: x"])
    text = render([HostReport("h", [found])], {"h": {"transport": "local://"}})
    path = tmp_path / "inv.yml"
    path.write_text(text)
    with pytest.raises(InventoryError, match=r"jobs\.flux\.rpo: expected a duration .*FILL IN"):
        load_inventory(path)
    path.write_text(text.replace(PLACEHOLDER_RPO, "26h").replace(PLACEHOLDER_RTO, "1h"))
    assert main(["inventory", "check", str(path)]) == 0


def test_discover_refuses_to_overwrite_and_unknown_hosts(tmp_path, capsys):
    out = tmp_path / "inv.yml"
    out.write_text("mine")
    assert main(["discover", "local://", "--out", str(out)]) == 4
    assert out.read_text() == "mine"
    assert "--force" in capsys.readouterr().err
    assert main(["discover", "nosuchhost"]) == 4
    assert "expected a transport URL" in capsys.readouterr().err


def test_discover_of_this_machine_over_local(tmp_path):
    """A real run over local:// (this runner: whatever it has, it is read, never changed)."""
    out = tmp_path / "inv.yml"
    assert main(["discover", "local://", "--out", str(out)]) == 0
    loaded = yaml.safe_load(out.read_text())
    assert loaded["hosts"] == {"local": {"transport": "local://"}}
    assert Host(name="local", transport="local://")


# --- samples -----------------------------------------------------------------------------------

DAY = 24 * 3600


def _tree(root: Path) -> None:
    """A source with what must never be a sample: a file its excludes leave out, names with a
    newline and not UTF-8, a folder with a file changed after the last run; and one fit folder."""
    import time

    now = time.time()
    made = {"aaa/cache/early.txt": 20, "aab/bad\nrpo: 1s.txt": 20, "aad/fresh.txt": 0,
            "aad/old.txt": 14, "docs/report.txt": 15, "top.txt": 30, "empty/zero.txt": 10}
    for name, days in made.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("" if "zero" in name else f"{name}\n")
        os.utime(path, (now - days * DAY, now - days * DAY))
    hostile = os.fsencode(root) + b"/aac/bad\xff.txt"
    os.makedirs(os.fsencode(root) + b"/aac")
    with open(hostile, "wb") as handle:
        handle.write(b"x\n")
    os.utime(hostile, (now - 20 * DAY, now - 20 * DAY))
    for folder in ("aaa/cache", "aaa", "aab", "aac", "docs", "empty"):  # as old as their files
        os.utime(root / folder, (now - 30 * DAY, now - 30 * DAY))


def _proposed(source: Path, job: dict[str, object]) -> tuple[Found, str]:
    from backup_drills.inventory.discover import propose_samples

    found = Found("flux", {"source": str(source), "repository": "/srv/r", **job}, ["test"])
    report = HostReport("local", [found])
    propose_samples(Remote(Host(name="local", transport="local://"), timeout=30), report)
    return found, render([report], {"local": {"transport": "local://"}})


def test_samples_are_old_kept_files_never_excluded_fresh_or_hostile(tmp_path):
    """Over a real local:// shell: restic's excludes (``cache``) leave aaa out; the names with a
    newline and not UTF-8 are never chosen; aad holds a file changed after the last run (no
    service, no marker: 2 days ago), so it is no sample directory though aad/old.txt is a fit
    file; the file is the longest unchanged fit one inside a folder, not empty."""
    source = tmp_path / "flux"
    _tree(source)
    found, text = _proposed(source, {"kind": "restic", "excludes": ["cache"]})
    assert found.job["samples"] == {"file": "docs/report.txt", "directory": "docs"}
    loaded = yaml.safe_load(text.replace(PLACEHOLDER_RPO, "26h").replace(PLACEHOLDER_RTO, "4h"))
    assert loaded["jobs"]["flux"]["samples"] == {"file": "docs/report.txt", "directory": "docs"}
    assert "rpo: 1s" not in [line.strip() for line in text.splitlines()]
    assert "2 name(s) with control characters or not UTF-8 never chosen" in text
    assert "replace them with a file and a directory you need back" in text
    # without the exclude, the older aaa/cache/early.txt is the file and aaa the directory
    found, _ = _proposed(source, {"kind": "restic"})
    assert found.job["samples"] == {"file": "aaa/cache/early.txt", "directory": "aaa"}
    # borg's own rules: fm:*/cache leaves the same folder out, sh:docs/* the docs
    found, _ = _proposed(source, {"kind": "borg", "excludes": ["fm:*/cache", "sh:**/docs/*"]})
    assert found.job["samples"] == {"file": "aad/old.txt", "directory": "empty"}


def test_no_samples_when_no_file_fits(tmp_path):
    source = tmp_path / "flux"
    (source / "new").mkdir(parents=True)
    (source / "new" / "fresh.txt").write_text("just written\n")
    found, text = _proposed(source, {"kind": "rclone-mirror", "destination": "b2:x"})
    assert "samples" not in found.job
    assert "no samples written; add a file and a directory you care about" in text


# --- a new user's review (issue 26): env files, cron layouts, refusals ----------------------------

def test_a_job_whose_env_file_differs_from_the_hosts_gets_its_own_and_ties_break_by_path():
    from backup_drills.inventory.discover import host_entry

    jobs = [Found("flux", {"kind": "restic", "source": "/flux", "repository": "/r1"}, ["h: a"],
                  env_file="/etc/z.env"),
            Found("db", {"kind": "restic", "source": "/db", "repository": "/r2"}, ["h: b"],
                  env_file="/etc/a.env"),
            Found("plain", {"kind": "restic", "source": "/p", "repository": "/r3"}, ["h: c"])]
    host = Host(name="h", transport="local://")
    for order in (jobs, jobs[::-1], [jobs[1], jobs[2], jobs[0]]):  # the same whatever the order
        report = HostReport("h", list(order))
        entry = host_entry(host, report)
        assert entry["credentials_env"] == "/etc/a.env"  # one job each: the first path
        loaded = yaml.safe_load(render([report], {"h": entry}))
        assert loaded["jobs"]["flux"]["credentials_env"] == "/etc/z.env"
        assert "credentials_env" not in loaded["jobs"]["db"]  # the host's
        assert "credentials_env" not in loaded["jobs"]["plain"]
    two = HostReport("h", [*jobs, Found("more", {"kind": "restic"}, ["h: d"], env_file="/etc/z.env")])
    assert host_entry(host, two)["credentials_env"] == "/etc/z.env"  # most jobs first


class CronRooted(RootedFiles):
    def cron_files(self, places: tuple[str, ...]) -> tuple[list[str], list[str]]:
        found, unreadable = super().cron_files(tuple(self.root + p for p in places))
        return [p.removeprefix(self.root) for p in found], [p.removeprefix(self.root) for p in unreadable]


def test_cron_jobs_found_in_cronies_layout_and_an_unreadable_place_reported(local):
    """cronie keeps users' crontabs in /var/spool/cron/USER, with no crontabs/ folder: the
    missing folder is skipped, the other places still read."""
    from backup_drills.inventory.discover import _CRON_FILES, CRON_PLACES, read_triggers

    root = Path(tempfile.mkdtemp(prefix="cron-places-"))  # pytest's tmp_path: root's 0700
    try:
        root.chmod(0o755)
        (root / "etc/cron.d").mkdir(parents=True)
        (root / "var/spool/cron").mkdir(parents=True)
        (root / "etc/crontab").write_text("SHELL=/bin/sh\n")
        (root / "etc/cron.d/backup").write_text("0 2 * * * root restic -r /srv/r backup /srv\n")
        (root / "var/spool/cron/root").write_text("30 3 * * * borg create /b::{now} /data\n")
        triggers, problems = read_triggers(local, CronRooted(local, root))
        assert sorted(t.cron["file"] for t in triggers if t.cron) == ["/etc/cron.d/backup",
                                                                       "/var/spool/cron/root"]
        assert not [p for p in problems if "cron" in p], problems
        # a place that exists but cannot be listed is said, never skipped silently: as a user
        # who cannot search /var/spool/cron (this runner is root: the script runs as nobody)
        (root / "var/spool/cron").chmod(0o700)
        places = [str(root) + place for place in CRON_PLACES]
        as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] \
            if os.geteuid() == 0 else []
        done = subprocess.run([*as_nobody, "sh", "-c", _CRON_FILES, "cron-files", *places],
                              capture_output=True, text=True, timeout=30)
        unreadable = [line.removeprefix("unreadable ") for line in done.stderr.splitlines()]
        assert unreadable == [places[2], places[3]], done.stderr  # the folder, and what it hides
        assert done.stdout.split("\0")[:2] == [places[0], places[1] + "/backup"]
    finally:
        shutil.rmtree(root)


def test_a_missing_extra_is_could_not_run_with_how_to_add_it_to_the_wheel(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "paramiko", None)  # not installed
    assert main(["discover", "paramiko://root@127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "internal error" not in err
    assert "needs paramiko, which is not installed" in err
    assert "'backup-drills[paramiko]'" not in err  # no index has that
    assert "pip install 'paramiko<6,>=3.4'" in err
    assert ".whl[paramiko]'" in err


def test_discover_says_a_sudo_exact_host_needs_root_or_sudo_true(tmp_path, capsys):
    inventory = tmp_path / "inv.yml"
    inventory.write_text(yaml.safe_dump({"name": "x", "hosts": {"db1": {"transport": "ssh://drill@db1",
                                                                         "sudo": "exact"}}, "jobs": {}}))
    assert main(["discover", "db1", "--inventory", str(inventory)]) == 2
    err = capsys.readouterr().err
    assert "host db1: sudo: exact allows the drill's own programs only" in err
    assert "discover needs root (ssh://root@HOST) or sudo: true" in err


def test_an_unknown_key_is_fixed_with_known_hosts_and_the_last_run_has_its_time(monkeypatch, capsys):
    from backup_drills.core.transport import HostUnreachable
    from backup_drills.inventory import discover

    def refused(remote: Remote, progress: object = None) -> HostReport:
        raise HostUnreachable(remote.name, "Host key verification failed: db1 offered an ED25519 key "
                              "SHA256:x, which your known_hosts does not list; verify the fingerprint, "
                              "then: ssh-keyscan db1 >> ~/.ssh/known_hosts, or pin it with ssh_host_key: "
                              "in the inventory")

    monkeypatch.setattr(discover, "discover_host", refused)
    assert main(["discover", "ssh://root@db1"]) == 2
    err = capsys.readouterr().err
    assert "ssh_host_key" not in err
    assert "or give discover a known_hosts file that lists it: --known-hosts FILE" in err

    class Shown:
        """A host whose systemctl show says the service last started at 2026-12-03 05:00 UTC."""

        name = "h"

        def run(self, command: str, **kwargs: object) -> Result:
            out = b"ExecMainStartTimestamp=@1796274000\nExecMainStatus=0\n" if "systemctl" in command else b""
            return Result("h", command, 0 if out else 1, out, "", 0.0)

    found = Found("flux", {"kind": "restic", "schedule": {"service": "flux-backup.service"}}, [])
    assert discover.last_run(Shown(), found) == (  # type: ignore[arg-type]
        1796274000.0, "flux-backup.service last started 2026-12-03 05:00 UTC")


def test_saitos_stock_borgmatic_unit_with_a_configuration_of_sections(local):
    """The stock Debian 13 borgmatic.service and .timer as saito shows them (recorded/discover/
    saito), over borgmatic 1.7's layout of sections: the origin names the call once, spaced
    as written, and a note says borgmatic deprecates the sections (the drill reads them as
    borgmatic 1.9 does: tests/unit/test_borgmatic.py)."""
    (trigger,) = _timer("saito", "borgmatic")
    (found,), notes = jobs_of(trigger, RootedFiles(local, RECORDED / "saito"), {})
    assert not notes
    assert found.origin[1] == "borgmatic at ExecStart", found.origin
    assert found.from_host["repository"] == "/srv/borg/nu24"
    assert [n for n in found.notes if "/etc/borgmatic/config.yaml: its sections (location:, storage:, "
            "retention:, consistency:) are borgmatic 1.7's form" in n], found.notes
    text = render([HostReport("saito", [found])], {"saito": {"transport": "ssh://saito"}})
    assert "# from borgmatic at ExecStart" in text
    assert "  at " not in text
