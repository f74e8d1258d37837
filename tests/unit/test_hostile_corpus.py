"""Every command the engine builds, fed hostile values, through a real shell (``local://``).

Each value of the corpus tries to run a program named ``pwned`` (first on PATH here: it creates
the canary file). A builder is driven with the value in an inventory field or in a name read
back from the host, its commands run through ``backup_drills.core.transport.Remote`` on this machine,
and then the canary must not exist. The tools that talk to services (restic, borg, rclone,
systemctl, journalctl, systemd-analyze, curl, the database servers and clients) are replaced on
PATH by recorders that write the argv they received, so the test also checks that the value
arrived as one intact word; the file tools (find, tar, cat, realpath, sha256sum, mkdir, rm...)
are the real ones, and what they did with the value is checked on disk.
"""

from __future__ import annotations

import getpass
import hashlib
import io
import json
import os
import shlex
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backup_drills.adapters import archives, cron, markers, metrics, object_dumps, systemd
from backup_drills.adapters.borg import Borg, borg_tagged, extract_word
from backup_drills.adapters.rclone import Rclone
from backup_drills.adapters.restic import Restic, RestoreFailed, Snapshot, include_word
from backup_drills.core import backends, progress
from backup_drills.core.transport import DrillCouldNotRun, Remote, argv
from backup_drills.core.unit_credentials import UnitCredential, under_unit_credentials
from backup_drills.inventory.credentials import password_exports
from backup_drills.inventory.schema import (
    Archives,
    Component,
    Cron,
    Dump,
    Endpoint,
    Host,
    Job,
    Metrics,
    Samples,
)
from backup_drills.restores import manifest, scratch, trees
from backup_drills.restores.databases import DumpDrill, Fetched, PostgresDrill, RedisDrill
from backup_drills.verdicts import exposure, repository

CORPUS = {
    "spaces": "a b  c",
    "single-quotes": "it's'; pwned; '",
    "double-quotes": 'say "x"; pwned; "',
    "command-substitution": "$(pwned)",
    "backticks": "`pwned`",
    "semicolon": "x;pwned;#",
    "pipe": "x|pwned",
    "ampersand": "x&pwned&",
    "newline": "x\npwned\n",
    "leading-dash": "--x=$(pwned)",
    "dotdot": "../$(pwned)/..",
    "non-utf8": "caf\udce9$(pwned)",  # the byte 0xE9, as a name read from a host decodes
    "glob-and-variables": "*${IFS}$HOME",
}
RECORDED = ("restic", "borg", "rclone", "systemctl", "journalctl", "systemd-analyze", "curl", "busctl",
            "redis-server", "redis-cli", "clickhouse-client", "clickhouse-server", "clickhouse",
            "useradd", "userdel")
RECORDER = """#!/bin/sh
f=$(mktemp "$HOSTILE_CALLS/call.XXXXXX")
printf '%s\\0' "${0##*/}" "$@" > "$f"
exit STATUS
"""
# useradd succeeds, as on a host: a failing one is retried for five seconds (another useradd may
# hold /etc/passwd's lock), which cost each database restore case five seconds; the user it
# "made" does not exist, so the restore stops at the next step that needs it
SUCCEEDS = ("useradd",)
HEX = "a" * 64


def name(value: str) -> str:
    """The value as one file name (a name read back from a host cannot hold a slash)."""
    return value.replace("/", "")


@dataclass
class Estate:
    tmp: Path
    canary: Path
    calls_dir: Path
    remote: Remote

    def calls(self) -> list[list[str]]:
        """Each recorded call's argv (program first), in no particular order."""
        found = []
        for path in self.calls_dir.iterdir():
            words = path.read_bytes().split(b"\0")[:-1]
            found.append([w.decode("utf-8", "surrogateescape") for w in words])
        return found

    def received(self, program: str, *words: str) -> None:
        """Some call of ``program`` received every one of ``words`` as one intact argument."""
        calls = [c for c in self.calls() if c[0] == program]
        assert calls, f"{program} was never called"
        assert any(all(w in c[1:] for w in words) for c in calls), (words, calls)

    def host(self, **changes: object) -> Remote:
        return Remote(Host.model_construct(**({"name": "h", "transport": "local://",
                                                "scratch": str(self.tmp / "scratch")} | changes)),
                      timeout=60)


@pytest.fixture
def estate(tmp_path, monkeypatch) -> Estate:
    tools, calls = tmp_path / "bin", tmp_path / "calls"
    tools.mkdir()
    calls.mkdir()
    canary = tmp_path / "PWNED"
    (tools / "pwned").write_text(f"#!/bin/sh\ntouch '{canary}'\n")
    for program in RECORDED:
        (tools / program).write_text(RECORDER.replace("STATUS", "0" if program in SUCCEEDS else "1"))
    for program in tools.iterdir():
        program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:{os.environ['PATH']}")
    monkeypatch.setenv("HOSTILE_CALLS", str(calls))
    (tmp_path / "scratch").mkdir()
    remote = Remote(Host(name="h", transport="local://", scratch=str(tmp_path / "scratch")), timeout=60)
    return Estate(tmp_path, canary, calls, remote)


def job(**fields: object) -> Job:
    """A job as given, unvalidated: the loader refuses much of the corpus, and each command must
    be safe without it."""
    base: dict[str, object] = {"name": "j", "host": "h", "kind": "restic", "excludes": (),
                               "rpo": None, "rto": None, "samples": None, "archives": None,
                               "dump": None, "marker": None, "results": None, "source": None,
                               "repository": None, "destination": None, "schedule": None,
                               "cron": None, "metrics": None, "endpoints": None}
    return Job.model_construct(**(base | fields))


def tolerated(call: Callable[[], object]) -> object:
    """Run a builder whose tool fails here (a recorder, a missing server): the verdict it reaches
    does not matter, only what its commands did."""
    try:
        return call()
    except UnicodeError:
        raise  # not a verdict: the drill itself broke on the value
    except (DrillCouldNotRun, RestoreFailed, ValueError, KeyError) as exc:
        return exc


BUILDERS: dict[str, Callable[[Estate, str], None]] = {}


def builder(function: Callable[[Estate, str], None]) -> Callable[[Estate, str], None]:
    BUILDERS[function.__name__] = function
    return function


# --- scratch (drills/restores/scratch.py) ---------------------------------------------------


@builder
def scratch_made_and_removed(e: Estate, v: str) -> None:
    root = e.tmp / f"s{name(v)}"
    remote = e.host(scratch=str(root))
    with scratch.scratch_dir(remote, job(source=str(e.tmp / "src"))) as target:
        assert os.path.isdir(target)
        assert os.path.dirname(target) == str(root)
    assert os.listdir(root) == []


@builder
def scratch_paths_resolved(e: Estate, v: str) -> None:
    asked = [str(e.tmp / v / "x"), f"{e.tmp}/{name(v)}"]
    assert scratch.resolve(e.remote, asked) == [os.path.realpath(p) for p in asked]


@builder
def scratch_sample_refused_or_protected(e: Estate, v: str) -> None:
    (e.tmp / "src").mkdir()
    hostile = job(source=str(e.tmp / "src"), samples=Samples.model_construct(file=v, directory="d"))
    found = tolerated(lambda: scratch.refuse_overlap(e.remote, hostile, str(e.tmp / "scratch" / "x")))
    assert (found is None) == (".." not in v)


@builder
def scratch_swept(e: Estate, v: str) -> None:
    root = e.tmp / f"r{name(v)}"
    leftover = root / f"drill-{scratch.RUNNER}-1-{int(datetime.now(UTC).timestamp()) - 2 * 86400}-aaaaaa"
    leftover.mkdir(parents=True)
    assert scratch.sweep(e.host(scratch=str(root))) == [str(leftover)]
    assert not leftover.exists()


@builder
def scratch_free_space(e: Estate, v: str) -> None:
    assert scratch.free_bytes(e.remote, f"{e.tmp}/{v}/not/yet") > 0


# --- tree manifests (drills/restores/manifest.py) -------------------------------------------


@builder
def manifest_hashed(e: Estate, v: str) -> None:
    root = e.tmp / f"t{name(v)}"
    (root / name(v)).mkdir(parents=True)
    (root / name(v) / name(v)).write_bytes(b"hostile\n")
    found = manifest.hash_tree(e.remote, str(root), [name(v)])
    assert found.entries[f"{name(v)}/{name(v)}"].sha256 == hashlib.sha256(b"hostile\n").hexdigest()


# --- tarball backups (drills/adapters/archives.py) ------------------------------------------


def _tarball(e: Estate, v: str, encrypted: bool = False) -> tuple[Job, Path]:
    """A backup set whose component, archive and paths carry the value; the component's source
    (``.../data``) holds one file."""
    component = name(v)
    source = e.tmp / f"src{name(v)}" / "data"
    source.mkdir(parents=True)
    (source / name(v)).write_bytes(b"payload\n")
    root = e.tmp / f"sets{name(v)}"
    (root / "20261122_030000").mkdir(parents=True)
    archive = root / "20261122_030000" / f"{component}.tar.gz{'.gpg' if encrypted else ''}"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(source, arcname="data")
    archive.write_bytes(buffer.getvalue() if not encrypted else b"\x8c" + buffer.getvalue())
    spec = Archives.model_construct(root=str(root), keep_days=3, set_format="%Y%m%d_%H%M%S",
                                    components={component: Component.model_construct(
                                        source=str(source), encrypt="required")},
                                    gnupghome=str(e.tmp / f"gnupg{name(v)}"), tiers=(),
                                    anomaly_ratio=0.5)
    return job(kind="gpg-tar", archives=spec), archive


@builder
def archives_listed_and_unpacked(e: Estate, v: str) -> None:
    tarball, archive = _tarball(e, v)
    (sets,) = archives.list_sets(e.remote, tarball)
    assert sets.files == {archive.name: archive.stat().st_size}
    outcome = archives.restore_newest(e.remote, tarball)
    assert [r.component for r in outcome.restores] == [name(v)]
    assert outcome.restores[0].comparison.identical, outcome.restores[0].comparison.describe()
    assert outcome.restores[0].comparison.compared == 1


@builder
def archives_in_clear(e: Estate, v: str) -> None:
    tarball, archive = _tarball(e, v)
    assert archives.in_clear(e.remote, tarball) == (1, [str(archive)])


@builder
def archives_decrypted(e: Estate, v: str) -> None:
    tarball, archive = _tarball(e, v, encrypted=True)
    assert archives.first_bytes(e.remote, [str(archive)]) == {str(archive): 0x8C}
    failed = tolerated(lambda: archives.restore_newest(e.remote, tarball))
    assert isinstance(failed, RestoreFailed)
    assert str(archive) in str(failed)


# --- markers, metrics, cron, systemd --------------------------------------------------------


@builder
def marker_read(e: Estate, v: str) -> None:
    path = e.tmp / f"m{name(v)}.json"
    path.write_text(json.dumps({"job": v, "host": "h", "status": "success"}))
    reading = markers.read_marker(e.remote, str(path))
    assert reading.marker is not None
    assert reading.marker.job == v


@builder
def newest_result_read(e: Estate, v: str) -> None:
    folder = e.tmp / f"d{name(v)}"
    folder.mkdir()
    for index, file in enumerate(("old.json", f"r{name(v)}.json")):  # *.json: not a dotfile
        (folder / file).write_text(json.dumps({"job": file, "host": "h", "status": "success"}))
        os.utime(folder / file, (1_700_000_000 + index, 1_700_000_000 + index))
    reading = markers.read_newest_result(e.remote, str(folder))
    assert reading.path == str(folder / f"r{name(v)}.json")
    assert reading.marker is not None
    assert reading.marker.job == f"r{name(v)}.json"


@builder
def metrics_textfile_read(e: Estate, v: str) -> None:
    path = e.tmp / f"p{name(v)}.prom"
    path.write_text('backup_success{job="c"} 1\n')
    assert metrics.scrape(e.remote, Metrics.model_construct(textfile=str(path), url=None,
                                                            labels={})) == {"backup_success": 1.0}


@builder
def metrics_url_asked(e: Estate, v: str) -> None:
    url = f"http://127.0.0.1:1/{v}"
    tolerated(lambda: metrics.scrape(e.remote, Metrics.model_construct(url=url, textfile=None, labels={})))
    e.received("curl", url)


@builder
def cron_read_and_run_as_a_hostile_user(e: Estate, v: str) -> None:
    crontab = e.tmp / f"c{name(v)}"
    crontab.write_bytes(f"0 2 * * * {name(v).split()[0] if name(v).split() else 'x'} true\n"
                        .encode("utf-8", "surrogateescape"))
    entry = Cron.model_construct(file=str(crontab), schedule="0 2 * * *", command="true")
    (found,) = cron.entries_for(e.remote, entry)
    assert found.command == "true"
    result = cron.run_now(e.remote, entry, 30)
    assert not result.ok  # no such user: runuser refuses, nothing runs


@builder
def systemd_units_read_and_started(e: Estate, v: str) -> None:
    tolerated(lambda: systemd.read_timer(e.remote, v))
    tolerated(lambda: systemd.read_service(e.remote, v))
    tolerated(lambda: systemd._timer_times(e.remote, v))
    tolerated(lambda: systemd._from_journal(e.remote, systemd.ServiceState(v, True, "", None, None)))
    tolerated(lambda: systemd.normalize_calendar(e.remote, v))
    tolerated(lambda: systemd.calendar_firings(e.remote, [v, "daily"]))
    tolerated(lambda: systemd.start_service(e.remote, v, 30))
    e.received("systemctl", "start", v)
    e.received("systemctl", "list-timers", v)
    e.received("systemd-analyze", "calendar", v)
    e.received("systemctl", "show", v)
    e.received("journalctl", "-u", v)


# --- restic, borg, rclone, object dumps, backends -------------------------------------------


def _restic(e: Estate, v: str) -> Restic:
    restic = Restic(e.remote, job(repository=f"/r{v}", source=f"/s{v}"))
    restic.__dict__["hostname"] = v  # as `hostname` on a hostile host would answer
    return restic


@builder
def run_folder(e: Estate, v: str) -> str:
    """An empty run folder of scratch (0700, as scratch-root.sh makes it) below a folder named
    by the value: restic-into.sh restores only into such a folder."""
    run = Path(e.tmp) / f"t{v}" / "drill-r-1-2-ab"
    run.mkdir(parents=True, mode=0o700)
    return str(run)


def restic_commands(e: Estate, v: str) -> None:
    restic, snapshot = _restic(e, v), Snapshot(id=HEX, short_id="aaaaaaaa", time=datetime.now(UTC),
                                                hostname="h", paths=["/"])
    tolerated(restic.snapshots)
    e.received("restic", "-r", f"/r{v}", "--host", v, "--path", f"/s{v}")
    tolerated(lambda: restic.check(read_data_subset=v))
    e.received("restic", f"--read-data-subset={v}")
    run = run_folder(e, v)
    tolerated(lambda: restic.restore(snapshot, run, (f"/s{v}/{v}",)))
    e.received("restic", "--target", f"{run}/{HEX}", "--include", f"/s{v}/{v}")
    tolerated(lambda: restic.find(snapshot, f"/s{v}/x"))
    e.received("restic", "find", f"/s{v}/x")
    tolerated(lambda: restic.listing(snapshot, f"/s{v}/x"))
    e.received("restic", "ls", "--recursive", f"/s{v}/x")


@builder
def restic_rotation_restores_names_literally(e: Estate, v: str) -> None:
    """The restore rotation's listing and restore of chosen files: a name read back from the
    repository reaches restic as one ``--include=`` word, its pattern characters escaped."""
    restic, snapshot = _restic(e, v), Snapshot(id=HEX, short_id="aaaaaaaa", time=datetime.now(UTC),
                                                hostname="h", paths=["/"])
    tolerated(lambda: restic.files(snapshot))
    e.received("restic", "ls", "--recursive", f"/s{v}")
    run = run_folder(e, v)
    tolerated(lambda: restic.restore_files(snapshot, run, [f"d/{v}"], 60))
    e.received("restic", "--target", f"{run}/{HEX}", include_word(f"/s{v}/d/{v}"))


@builder
def borg_rotation_extracts_names_literally(e: Estate, v: str) -> None:
    """The rotation's listing and extract of chosen files: a name read back from the archive
    reaches borg as one ``pp:`` word (a literal path prefix; ``sh:`` for a loose space)."""
    borg = Borg(e.remote, job(kind="borg", repository=f"/b{v}", source=f"/s{v}"))
    archive = Snapshot(id=HEX, short_id=name(v), time=datetime.now(UTC), hostname="h", paths=["/"])
    tolerated(lambda: borg.files(archive))
    e.received("borg", "list", "--json-lines", f"/b{v}::{name(v)}")
    with scratch.scratch_dir(e.remote, job(source=str(e.tmp / "src"))) as target:
        tolerated(lambda: borg.restore_files(archive, target, [f"d/{v}"], 60))
    e.received("borg", "export-tar", f"/b{v}::{name(v)}", extract_word(f"{f'/s{v}'.strip('/')}/d/{v}"))


@builder
def restic_hostile_ids_refused(e: Estate, v: str) -> None:
    restic = _restic(e, v)
    snapshot = Snapshot(id=v, short_id=v, time=datetime.now(UTC), hostname="h", paths=["/"])
    with pytest.raises(DrillCouldNotRun, match="not hexadecimal"):
        restic.restore(snapshot, str(e.tmp / "t"))
    assert not any(c[0] == "restic" for c in e.calls())


@builder
def borg_commands(e: Estate, v: str) -> None:
    borg = Borg(e.remote, job(kind="borg", repository=f"/b{v}", source=f"/s{v}"))
    archive = Snapshot(id=HEX, short_id=name(v), time=datetime.now(UTC), hostname="h", paths=["/"])
    target = e.tmp / f"drill-t{name(v)}"  # a run folder of scratch: borg-in-dir checks it
    target.mkdir(mode=0o700)
    tolerated(borg.archives)
    tolerated(lambda: borg.extract(archive, str(target)))
    e.received("borg", "list", f"/b{v}")
    e.received("borg", "export-tar", f"/b{v}::{name(v)}")


@builder
def rclone_commands(e: Estate, v: str) -> None:
    mirror = Rclone(e.remote, job(kind="rclone-mirror", source=f"/s{v}", destination=f"remote:{v}",
                                  excludes=(v,)))
    tolerated(mirror.kept)
    tolerated(lambda: mirror.copy(v, f"{e.tmp}/t{v}", True))
    tolerated(mirror.size)
    tolerated(mirror.check_one_way)
    e.received("rclone", "lsf", "--exclude", v, f"/s{v}")
    e.received("rclone", "copyto", f"remote:{v}/{v.strip('/')}", f"{e.tmp}/t{v}")
    e.received("rclone", "check", f"/s{v}", f"remote:{v}")


@builder
def object_dumps_listed(e: Estate, v: str) -> None:
    dumps = job(kind="pg-dump", dump=Dump.model_construct(remote=f"minio:{v}", tiers={"daily": 7}))
    tolerated(lambda: object_dumps.list_tier(e.remote, dumps, "daily"))
    e.received("rclone", f"minio:{v}/daily")


@builder
def backend_probed(e: Estate, v: str) -> None:
    for kind in ("restic repository", "borg repository", "bucket"):
        tolerated(lambda kind=kind: backends.probe(e.remote, backends.Backend(kind, v), limit=30))
    e.received("restic", "-r", v)
    e.received("borg", v)
    e.received("rclone", v)


# --- tree restores (drills/restores/trees.py) -----------------------------------------------


@builder
def canary_folder_swept(e: Estate, v: str) -> None:
    source = e.tmp / f"src{name(v)}"
    (source / trees.CANARY_DIR).mkdir(parents=True)
    (source / trees.CANARY_DIR / "canary-1.bin").write_bytes(b"x")
    trees.sweep_canaries(e.remote, [job(source=str(source))])
    assert os.listdir(source) == []


@builder
def canary_planted_and_removed(e: Estate, v: str) -> None:
    source = e.tmp / f"src{name(v)}"
    folder, path = source / trees.CANARY_DIR, source / trees.CANARY_DIR / f"canary-{name(v)}.bin"
    e.remote.run(argv("sh", "-c", trees._PLANT, "canary", str(folder), str(path)), check=True)
    assert path.stat().st_size == 65536
    e.remote.run(argv("sh", "-c", trees._REMOVE, "canary-remove", str(folder), str(path)), check=True)
    assert os.listdir(source) == []


@builder
def borg_tags_found(e: Estate, v: str) -> None:
    tagged = e.tmp / f"src{name(v)}" / f"d{name(v)}"
    tagged.mkdir(parents=True)
    (tagged / name(v)).write_bytes(b"")
    (tagged / "CACHEDIR.TAG").write_bytes(b"Signature: 8a477f597d28d172789f06886806bc55")
    found = borg_tagged(e.remote, job(kind="borg", source=str(tagged.parent),
                                      exclude_caches=True, exclude_if_present=(name(v),)))
    assert found == {str(tagged): ["CACHEDIR.TAG", name(v)]}


@builder
def mirror_sample_restored(e: Estate, v: str) -> None:
    (e.tmp / "src").mkdir()
    drill = trees.RestoreDrill(e.remote, job(kind="rclone-mirror", source=str(e.tmp / "src"),
                                             destination=f"remote:{v}"))
    found = tolerated(lambda: drill.mirror_sample(v, True, datetime.now(UTC)))
    if ".." in v.split("/"):
        assert isinstance(found, scratch.ScratchRefused)
    else:
        e.received("rclone", "copyto", f"remote:{v}/{v.strip('/')}")


# --- verdicts and core helpers (not adapters, but commands the engine sends) ----------------


@builder
def progress_measured(e: Estate, v: str) -> None:
    target = e.tmp / f"t{name(v)}"
    target.mkdir()
    (target / "f").write_bytes(b"x" * 4096)
    assert "written" in progress.written_into(e.remote, str(target))()


@builder
def sample_stat_and_mtimes(e: Estate, v: str) -> None:
    path = e.tmp / f"f{name(v)}"
    path.write_bytes(b"x")
    assert repository._mtimes(e.remote, [str(path)]) == {str(path): path.stat().st_mtime // 1}


@builder
def credentials_file_and_endpoints(e: Estate, v: str) -> None:
    env = e.tmp / f"e{name(v)}"
    env.write_text("X=1\n")
    env.chmod(0o600)
    remote = e.host(credentials_env=str(env), credentials_owner="root")
    verdict = exposure.credentials_private(remote, job())
    assert verdict.ok, verdict.message
    url = f"http://127.0.0.1:1/{v}"
    tolerated(lambda: exposure.endpoints_answer(e.remote, job(endpoints=(
        Endpoint.model_construct(name="e", url=url, status=200),))))
    e.received("curl", url)


@builder
def job_credentials_forms(e: Estate, v: str) -> None:
    """A job's own credentials_env, password_file and password_command (model_construct: what
    the loader would refuse too) reach the tool as the variables' exact values, and the exposure
    verdict reads the password file the env file names."""
    password = e.tmp / f"p{name(v)}"
    password.write_text("pw")
    password.chmod(0o600)
    env = e.tmp / f"e{name(v)}"
    env.write_bytes(f"RESTIC_PASSWORD_FILE={shlex.quote(str(password))}\n".encode("utf-8", "surrogateescape"))
    env.chmod(0o600)
    show = 'printf "%s\\0" "$RESTIC_PASSWORD_FILE" "$BORG_PASSCOMMAND" "$RESTIC_PASSWORD_COMMAND"'
    for fields in ({"credentials_env": str(env)}, {"password_file": str(password)},
                   {"credentials_env": str(env), "password_command": (v, "--", v)}):
        hostile = job(**fields)
        printed = e.remote.run(e.remote.with_credentials(["sh", "-c", show], hostile)).text.split("\0")
        if "password_command" in fields:
            assert printed[2] == f"{shlex.quote(v)} -- {shlex.quote(v)}" == printed[1]
        elif "password_file" in fields:
            assert printed[:2] == [str(password), shlex.join(["cat", "--", str(password)])]
        else:  # the env file's own variable, as the file sets it
            assert printed[:2] == [str(password), ""]
    verdict = exposure.credentials_private(e.host(credentials_owner=getpass.getuser()),
                                           job(credentials_env=str(env)))
    assert verdict.ok, verdict.message
    assert f"password file {password} is mode 0600" in verdict.message


@builder
def unit_credentials_and_password_credential(e: Estate, v: str) -> None:
    """A job's credentials_unit reaches busctl as one word (a recorder: the unit is unknown, the
    drill could not run); a credential's source, name and the unit reach unit-credentials.sh as
    values; a password_credential is a file of $CREDENTIALS_DIRECTORY, its name intact."""
    tolerated(lambda: e.remote.with_credentials(["true"], job(credentials_unit=v, repository="/r")))
    e.received("busctl", v)
    source = e.tmp / f"c{name(v)}"
    source.write_text("value")
    show = ('printf "%s\\0" "$(cat "$CREDENTIALS_DIRECTORY/cred")" "$RESTIC_PASSWORD_FILE" '
            '"$CREDENTIALS_DIRECTORY"')
    exports = password_exports(job(password_credential=v))
    command = under_unit_credentials(v, (UnitCredential("load", "cred", str(source)),), f"{exports}{show}")
    value, password_file, folder = e.remote.run(command).text.split("\0")[:3]
    assert (value, password_file) == ("value", f"{folder}/{v}")
    assert not os.path.exists(folder)


# --- database restores (drills/restores/databases.py, clickhouse.py) ------------------------
# Driven through restore() with the dump already fetched (to a path that carries the value):
# what is under test is every command built from the scratch path, the dump's path, database,
# OS user and tables. useradd and userdel are recorders here: no account is made on the runner.


def _dump_job(e: Estate, v: str, kind: str) -> Job:
    return job(kind=kind, source=str(e.tmp / "src"), dump=Dump.model_construct(
        path=None, remote="minio:x", tiers={"daily": 7}, format="custom", manifest=f"/m{v}.json",
        database=v, os_user=name(v), smoke_queries=("SELECT 1",), tables=(v,), canary_table=v))


def _fetched(drill: DumpDrill, v: str, suffix: str) -> DumpDrill:
    """The drill, its dump already in scratch under a name that carries the value."""
    def fetch(target: str, tier: str | None = None, as_found: bool = True) -> Fetched:
        path = Path(target) / f"{name(v)}{suffix}"
        path.write_bytes(b"PGDMP hostile")
        return Fetched(str(path), "fetched", {}, "object", datetime.now(UTC))

    drill._fetch = fetch  # type: ignore[method-assign]
    return drill


def _database_drill(e: Estate, v: str, drill: type[DumpDrill], kind: str, suffix: str) -> DumpDrill:
    root = e.tmp / f"s{name(v)}"
    root.mkdir(exist_ok=True)
    return _fetched(drill(e.host(scratch=str(root)), _dump_job(e, v, kind)), v, suffix)


@builder
def postgres_restore(e: Estate, v: str) -> None:
    drill = _database_drill(e, v, PostgresDrill, "pg-dump", ".dump")
    tolerated(drill.restore)  # type: ignore[attr-defined]


@builder
def postgres_manifest_and_source_canary(e: Estate, v: str) -> None:
    drill = PostgresDrill(e.remote, _dump_job(e, v, "pg-dump"))
    target = e.tmp / f"t{name(v)}"
    target.mkdir()
    tolerated(lambda: drill._manifest(str(target), "object"))
    tolerated(lambda: drill.remove_canary(v))


@builder
def redis_restore(e: Estate, v: str) -> None:
    drill = _database_drill(e, v, RedisDrill, "redis-rdb", ".rdb")
    tolerated(drill.restore)  # type: ignore[attr-defined]


@builder
def clickhouse_restore(e: Estate, v: str) -> None:
    from backup_drills.restores.clickhouse import ClickHouseDrill

    drill = _database_drill(e, v, ClickHouseDrill, "clickhouse-backup", ".tar")
    tolerated(drill.restore)  # type: ignore[attr-defined]


# --- the test -------------------------------------------------------------------------------


def test_the_canary_detector_works(estate):
    """The harness can fail: a value interpolated without quoting runs ``pwned``."""
    estate.remote.run(f"echo {CORPUS['command-substitution']}")
    assert estate.canary.exists()


@pytest.mark.parametrize("value", CORPUS.values(), ids=CORPUS.keys())
@pytest.mark.parametrize("build", BUILDERS.values(), ids=BUILDERS.keys())
def test_no_hostile_value_runs_and_each_arrives_intact(estate, build, value):
    try:
        build(estate, value)
    finally:  # what ran matters most, whatever else the builder did
        assert not estate.canary.exists(), f"{build.__name__} ran the value {value!r} as shell code"
