"""The credential forms restic and borg document, per job: an env file of the job's own, a
password file, a password command. Each is built by ``Remote.with_credentials`` and run here by
the real tools through the real ``local://`` transport; the exposure verdict judges the password
file as it judges the env file."""

from __future__ import annotations

import getpass
import os
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from backup_drills.adapters.borg import Borg
from backup_drills.adapters.restic import Restic
from backup_drills.core import backends
from backup_drills.core.transport import DrillCouldNotRun, Remote
from backup_drills.inventory.credentials import own_credentials, password_variables
from backup_drills.inventory.schema import Host, Inventory, Job
from backup_drills.verdicts.exposure import credentials_private

HOST_PASSWORD = "the-host-env-password"  # the host's env file: wrong for every repository below
ONE, TWO, THREE = "first-job-password", "second-job-password", "third-job-password"


def private(path: Path, text: str) -> str:
    path.write_text(text)
    path.chmod(0o600)
    return str(path)


def restic_job(name: str, repository: Path, **credentials: object) -> Job:
    return Job.model_validate({"name": name, "host": "runner", "kind": "restic", "rpo": "26h",
                               "rto": "1h", "source": "/srv", "repository": str(repository),
                               **credentials})


@pytest.fixture
def host(tmp_path) -> Remote:
    env = private(tmp_path / "host.env",
                  f"RESTIC_PASSWORD={HOST_PASSWORD}\nBORG_PASSPHRASE={HOST_PASSWORD}\n")
    return Remote(Host(name="runner", transport="local://", credentials_env=env,
                       credentials_owner=getpass.getuser(), scratch=str(tmp_path / "scratch")),
                  timeout=120)


def restic_repository(tmp_path: Path, name: str, password: str) -> Path:
    repository = tmp_path / name
    subprocess.run(["restic", "-r", str(repository), "init"], check=True, capture_output=True,
                   env={**os.environ, "RESTIC_PASSWORD": password})
    return repository


# --- the inventory --------------------------------------------------------------------------


def test_the_forms_are_validated(tmp_path):
    job = restic_job("j", tmp_path, credentials_env="/etc/j.env", password_command="pass show restic/j")
    assert job.password_command == ("pass", "show", "restic/j")
    assert restic_job("j", tmp_path, password_command=["/usr/bin/cat", "/a b"]).password_command == (
        "/usr/bin/cat", "/a b")
    refusals = {
        "credentials_env": ({"credentials_env": "etc/j.env"}, "absolute path"),
        "password_file": ({"password_file": "/etc/../x"}, "'..'"),
        "password_command quotes": ({"password_command": "sh -c 'cat /x'"}, "without quotes"),
        "password_command backslash": ({"password_command": ["cat", "a\\b"]}, "backslashes"),
        "password_command newline": ({"password_command": ["cat", "x\ny"]}, "control characters"),
        "password_command empty": ({"password_command": []}, "expected a command"),
        "password_command relative": ({"password_command": ["bin/pw"]}, "absolute path or a name"),
        "both": ({"password_file": "/x", "password_command": "cat /x"}, "expected one of them"),
    }
    for what, (fields, expected) in refusals.items():
        with pytest.raises(ValidationError, match=expected):
            restic_job("j", tmp_path, **fields)
        assert what
    with pytest.raises(ValidationError, match="only on a job with a repository"):
        Job.model_validate({"name": "m", "host": "h", "kind": "rclone-mirror", "rpo": "1d",
                            "source": "/s", "destination": "r:b", "password_file": "/x"})


def test_the_credentials_scenario_selects_jobs_with_their_own_files(tmp_path):
    def entry(host: str, **credentials: str) -> dict[str, str]:
        return {"host": host, "kind": "restic", "rpo": "26h", "rto": "1h", "source": "/srv",
                "repository": str(tmp_path), **credentials}

    inventory = Inventory.model_validate({
        "name": "t",
        "hosts": {"bare": {"transport": "local://"},
                  "with-env": {"transport": "local://", "credentials_env": "/etc/h.env"}},
        "jobs": {"own-env": entry("bare", credentials_env="/etc/j.env"),
                 "own-file": entry("bare", password_file="/etc/j.pw"),
                 "command": entry("bare", password_command="pass x"),
                 "host-env": entry("with-env")}})
    chosen = inventory.jobs_for(needs="credentials_env|password_file|host.credentials_env")
    assert sorted(job.name for job in chosen) == ["host-env", "own-env", "own-file"]


def test_the_password_variables_of_each_form():
    assert password_variables("/etc/pw", None) == {"RESTIC_PASSWORD_FILE": "/etc/pw",
                                                   "BORG_PASSCOMMAND": "cat -- /etc/pw"}
    command = password_variables(None, ("systemd-creds", "decrypt", "--name=flux.pw", "/etc/a b", "-"))
    assert command == {"RESTIC_PASSWORD_COMMAND": "systemd-creds decrypt --name=flux.pw '/etc/a b' -",
                       "BORG_PASSCOMMAND": "systemd-creds decrypt --name=flux.pw '/etc/a b' -"}
    assert password_variables(None, None) == {}


# --- restic, through the real transport -----------------------------------------------------


def test_two_restic_jobs_on_one_host_each_with_its_own_password(tmp_path, host):
    """The host's env file holds a wrong password for both: each job's own form wins."""
    one, two, three = (restic_repository(tmp_path, n, p) for n, p in
                       (("one", ONE), ("two", TWO), ("three", THREE)))
    own_env = restic_job("own-env", one, credentials_env=private(tmp_path / "one.env",
                                                                 f"RESTIC_PASSWORD={ONE}\n"))
    own_file = restic_job("own-file", two, password_file=private(tmp_path / "two.pw", f"{TWO}\n"))
    command = restic_job("command", three, password_command=["cat", private(tmp_path / "three.pw", THREE)])
    for job in (own_env, own_file, command):
        assert Restic(host, job).snapshots() == []
        assert backends.probe(host, backends.Backend("restic repository", str(job.repository)),
                              limit=60, job=job) is None
    found = backends.probe(host, backends.Backend("restic repository", str(one)), limit=60)
    assert found is not None
    assert "wrong password" in found  # the host's own file is wrong here


def test_a_password_file_in_the_env_file_works(tmp_path, host):
    repository = restic_repository(tmp_path, "repo", ONE)
    password = private(tmp_path / "restic.pw", ONE)
    env = private(tmp_path / "job.env", f"RESTIC_PASSWORD_FILE={password}\n")
    assert Restic(host, restic_job("j", repository, credentials_env=env)).snapshots() == []


def test_a_wrong_password_file_is_refused_naming_host_job_and_path(tmp_path, host):
    repository = restic_repository(tmp_path, "repo", ONE)
    wrong = private(tmp_path / "wrong.pw", "not-the-password")
    job = restic_job("flux", repository, password_file=wrong)
    failed = backends.probe_all(host, [job], limit=60)  # the host's own run: nothing down before
    assert failed[str(repository)].endswith("refused the credentials (wrong password or no key "
                                            f"found) (with job flux's password_file {wrong})")
    with pytest.raises(DrillCouldNotRun, match=f"host runner: .*job flux's password_file {wrong}"):
        Restic(host, job).snapshots()


def test_an_unreadable_password_file_could_not_run_naming_it(tmp_path, host):
    repository = restic_repository(tmp_path, "repo", ONE)
    job = restic_job("flux", repository, password_file=str(tmp_path / "absent.pw"))
    with pytest.raises(DrillCouldNotRun, match=f"host runner: cannot read its credentials file .*"
                                               f"host.env or job flux's password file {tmp_path}/absent.pw"):
        Restic(host, job).snapshots()


def test_a_password_command_output_never_reaches_the_runner(tmp_path, host):
    """The tool runs the command on the host; the drill never holds its output."""
    repository = restic_repository(tmp_path, "repo", ONE)
    job = restic_job("j", repository, password_command=["cat", private(tmp_path / "pw", ONE)])
    command = host.with_credentials(["restic", "-r", str(repository), "--no-lock", "snapshots", "-v"], job)
    result = host.run(command)
    assert result.ok, result.stderr
    assert ONE not in command
    assert ONE not in result.text
    assert ONE not in result.stderr


def test_own_credentials_cannot_reach_an_exact_sudo(tmp_path):
    remote = Remote(Host.model_construct(name="h", transport="local://", sudo="exact",
                                         credentials_env=None, credentials_from_env=()))
    job = restic_job("flux", tmp_path, password_file="/etc/flux.pw")
    with pytest.raises(DrillCouldNotRun, match="host h, job flux: sudo: exact loads one env file"):
        remote.with_credentials(["restic", "snapshots"], job)
    assert own_credentials(job) == " (with job flux's password_file /etc/flux.pw)"


# --- borg, through the real transport -------------------------------------------------------


def borg_job(name: str, repository: Path, **credentials: object) -> Job:
    return Job.model_validate({"name": name, "host": "runner", "kind": "borg", "rpo": "26h",
                               "rto": "1h", "source": "/srv", "repository": str(repository),
                               **credentials})


def test_borg_with_a_passcommand_and_a_password_file(tmp_path, host):
    """The host's env file sets BORG_PASSPHRASE (which borg prefers to BORG_PASSCOMMAND): the
    job's own form still wins."""
    repository = tmp_path / "borg"
    subprocess.run(["borg", "init", "--encryption=repokey", str(repository)], check=True,
                   capture_output=True, env={**os.environ, "BORG_PASSPHRASE": ONE})
    password = private(tmp_path / "borg.pw", f"{ONE}\n")
    for job in (borg_job("command", repository, password_command=["cat", password]),
                borg_job("file", repository, password_file=password)):
        assert Borg(host, job).snapshots() == []
    wrong = borg_job("wrong", repository, password_file=private(tmp_path / "wrong.pw", "nope"))
    with pytest.raises(DrillCouldNotRun, match="host runner, job wrong"):
        Borg(host, wrong).snapshots()


# --- the exposure verdict -------------------------------------------------------------------


def test_a_password_file_others_can_read_is_named(tmp_path, host):
    password = private(tmp_path / "restic.pw", ONE)
    env = private(tmp_path / "job.env", f"RESTIC_PASSWORD_FILE={password}\n")
    job = restic_job("flux", tmp_path, credentials_env=env)
    verdict = credentials_private(host, job)
    assert verdict.ok, verdict.message
    assert f"credentials file {env} is mode 0600" in verdict.message
    assert f"password file {password} is mode 0600" in verdict.message
    os.chmod(password, 0o644)
    verdict = credentials_private(host, job)
    assert not verdict.ok
    assert f"host runner, job flux: credentials file {env} is mode 0600" in verdict.message
    assert f"password file {password} is mode 0644 lets group or others in" in verdict.message
    # the env file's password file is read by the helper, with its mode and owner (an exact
    # host's drilling user may not stat it itself)
    gone = private(tmp_path / "gone.env", f"RESTIC_PASSWORD_FILE={tmp_path}/gone.pw\n")
    verdict = credentials_private(host, restic_job("flux", tmp_path, credentials_env=gone))
    assert not verdict.ok
    # "cannot statx" on newer coreutils
    assert f"password file {tmp_path}/gone.pw is missing (stat: cannot stat" in verdict.message
    # a helper that fails (here: the env file exits as it is read) is COULD NOT RUN, never a
    # check passed without the password file
    failing = private(tmp_path / "failing.env", "exit 3\n")
    with pytest.raises(DrillCouldNotRun, match=f"host runner, job flux: could not read which password "
                                               f"file the credentials file {failing} names"):
        credentials_private(host, restic_job("flux", tmp_path, credentials_env=failing))
    declared = restic_job("flux", tmp_path, password_file=str(tmp_path / "absent.pw"))
    verdict = credentials_private(host, declared)
    assert not verdict.ok
    assert f"password file {tmp_path}/absent.pw is missing" in verdict.message


# --- a systemd unit's credentials -----------------------------------------------------------
# busctl is a stand-in printing what systemd 252 (motoko) and 257 (batou) both printed for a unit
# with these lines (the lab's recorded answers); systemd-creds and the tools are the real ones,
# with systemd-creds' null key (--with-key=tpm2-absent: no host key is made on this machine).

UNIT = "restic-backup.service"
BUSCTL = """#!/bin/sh
case "$*" in
  *LoadUnit*) [ "$6" = "s" ] && [ "$7" = %(unit)s ] && echo 'o "/org/freedesktop/systemd1/unit/u"' \
                || echo 'o "/org/freedesktop/systemd1/unit/other"' ;;
  */unit/other*LoadState) echo '{"type":"s","data":"not-found"}' ;;
  *LoadState) echo '{"type":"s","data":"loaded"}' ;;
  *LoadCredentialEncrypted) echo %(encrypted)s ;;
  *LoadCredential) echo '{"type":"a(ss)","data":[["hostname","/etc/hostname"]]}' ;;
  *SetCredentialEncrypted) echo %(inline)s ;;
esac
"""


def encrypted(name: str, value: str, path: Path | None = None) -> bytes:
    done = subprocess.run(["systemd-creds", "encrypt", "--with-key=tpm2-absent", f"--name={name}", "-",
                           str(path) if path else "-"], input=value.encode(), capture_output=True,
                          check=True)
    return done.stdout


@pytest.fixture
def unit(tmp_path, monkeypatch):
    """A unit that loads restic.pw from an encrypted file and sets borg.pw inline, encrypted."""
    import json
    import shlex

    from backup_drills.core.unit_credentials import forget_units

    encrypted("restic.pw", ONE, tmp_path / "restic.cred")
    inline = list(encrypted("borg.pw", TWO))
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "busctl").write_text(BUSCTL % {
        "unit": shlex.quote(UNIT),
        "encrypted": shlex.quote(json.dumps({"type": "a(ss)",
                                             "data": [["restic.pw", str(tmp_path / "restic.cred")]]})),
        "inline": shlex.quote(json.dumps({"type": "a(say)", "data": [["borg.pw", inline]]}))})
    (tools / "busctl").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:{os.environ['PATH']}")
    forget_units()
    yield
    forget_units()


def left_in_run() -> list[str]:
    return sorted(name for name in os.listdir("/run") if name.startswith("backup-drill-credentials."))


def test_restic_and_borg_read_their_password_from_a_units_credentials(tmp_path, host, unit):
    before = left_in_run()
    restic = restic_job("restic", restic_repository(tmp_path, "repo", ONE), credentials_unit=UNIT,
                        password_credential="restic.pw")
    assert Restic(host, restic).snapshots() == []
    repository = tmp_path / "borg"
    subprocess.run(["borg", "init", "--encryption=repokey", str(repository)], check=True,
                   capture_output=True, env={**os.environ, "BORG_PASSPHRASE": TWO})
    borg = borg_job("borg", repository, credentials_unit=UNIT, password_credential="borg.pw")
    assert Borg(host, borg).snapshots() == []
    listed = host.run(host.with_credentials(["sh", "-c", 'ls "$CREDENTIALS_DIRECTORY"'], borg))
    assert listed.text.split() == ["borg.pw", "hostname", "restic.pw"]
    assert left_in_run() == before  # each command's folder is gone with it
    wrong = restic_job("wrong", restic.repository, credentials_unit=UNIT, password_credential="borg.pw")
    with pytest.raises(DrillCouldNotRun, match=r"(?s)host runner, job wrong: .*wrong password"):
        Restic(host, wrong).snapshots()
    (tmp_path / "restic.cred").unlink()
    missing = f"unit {UNIT}: cannot load its credential restic.pw: {tmp_path}/restic.cred is not a file"
    with pytest.raises(DrillCouldNotRun, match=f"host runner, job restic: .*{missing}"):
        Restic(host, restic).snapshots()
    assert left_in_run() == before


def test_a_unit_systemd_does_not_know_could_not_run(tmp_path, host, unit):
    job = restic_job("flux", tmp_path, credentials_unit="absent.service")
    with pytest.raises(DrillCouldNotRun, match=r"host runner: unit absent\.service: systemd has no such"):
        host.with_credentials(["restic", "snapshots"], job)


def test_what_systemd_says_of_a_unit_is_checked():
    from backup_drills.core.unit_credentials import UnitCredentialsError, parse_properties

    loaded = '{"type":"s","data":"loaded"}'
    none, sets = '{"type":"a(ss)","data":[]}', '{"type":"a(say)","data":[]}'
    for pairs, expected in (('[["-x","/a"]]', "name the drill does not load"),
                            ('[["../x","/a"]]', "name the drill does not load"),
                            ('[["x","/a/../b"]]', "source the drill does not read"),
                            ('[["x","/a\\nb"]]', "source the drill does not read"),
                            ("[]", "loads no credentials")):
        with pytest.raises(UnitCredentialsError, match=expected):
            parse_properties([loaded, none, f'{{"type":"a(ss)","data":{pairs}}}', sets], "u.service")
    with pytest.raises(ValidationError, match="expected credentials_unit too"):
        restic_job("j", Path("/r"), password_credential="restic.pw")
    with pytest.raises(ValidationError, match="credentials_unit"):
        restic_job("j", Path("/r"), credentials_unit="backup.timer")


def test_a_failed_probe_names_the_units_credentials_never_their_values(tmp_path, host, unit):
    """A job whose tool reads its password from the unit's credentials itself (borgmatic's
    ``{credential systemd NAME}``; here restic, given none of them): the probe's finding names
    the job, its unit and the credentials the unit loads, by name only."""
    from backup_drills.core.backends import probe_all

    job = restic_job("flux", restic_repository(tmp_path, "repo", ONE), credentials_unit=UNIT)
    (said,) = probe_all(host, [job], limit=30).values()
    assert said.endswith(f"(with job flux's credentials_unit {UNIT}, its credentials hostname, restic.pw, "
                         "borg.pw)"), said
    assert ONE not in said
    assert TWO not in said
