"""borgmatic's configuration as the drill reads it (drills/adapters/borgmatic.py), from what
borgmatic 1.9.14 (Debian 13) printed on the lab's saito: `borgmatic -c /etc/borgmatic/config.yaml
config validate --show` (recorded/borgmatic-1.9/)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from backup_drills.adapters.borgmatic import (
    Borgmatic,
    ConfigurationUnread,
    job_updates,
    parse_shown,
    read_job,
    read_settings,
)
from backup_drills.adapters.tool import Snapshot
from backup_drills.core.tool_errors import RepositoryDamaged, ToolCouldNotRun
from backup_drills.core.transport import DrillCouldNotRun, Result
from backup_drills.inventory.schema import Job

RECORDED = Path(__file__).parent / "recorded" / "borgmatic-1.9"
CONFIG = "/etc/borgmatic/config.yaml"


def shown() -> dict[str, object]:
    return parse_shown((RECORDED / "config-validate-show.txt").read_text(), "saito", CONFIG)


def test_the_recorded_configuration_gives_the_whole_job():
    settings = read_settings(shown(), None, "saito", CONFIG)
    assert (settings.repository, settings.source) == ("/srv/borg/saito", "/srv/data")
    assert settings.excludes == ("*.tmp", "/srv/data/cache")
    assert settings.exclude_caches
    assert (settings.exclude_if_present, settings.keep_exclude_tags) == ((), False)
    assert settings.retention is not None
    assert (settings.retention.daily, settings.retention.weekly, settings.retention.monthly) == (7, 4, 6)
    assert settings.checks == ("repository", "archives")
    # archive_name_format '{hostname}-{now:...}': borgmatic's derived match, {hostname} as borg reads it
    assert settings.match_archives == settings.retention.match_archives == "saito-*"
    assert settings.passphrase_from == "its encryption_passcommand"


def test_the_summary_borgmatic_prints_after_the_configuration_is_not_part_of_it():
    assert "summary" not in shown()


@pytest.mark.parametrize(("config", "expected"), [
    ({"match_archives": "sh:db-*"}, "db-*"),
    ({"archive_name_format": "{hostname}-daily-{utcnow}"}, "saito-daily-*"),
    ({"archive_name_format": "{now}"}, None),
    ({"prefix": "old-"}, "old-*"),
    ({}, "saito-*"),  # borgmatic's default format for borg 1.x
])
def test_match_archives_as_borgmatic_derives_it(config, expected):
    base = {"repositories": [{"path": "/r"}], "source_directories": ["/s"], "keep_daily": 1}
    assert read_settings({**base, **config}, None, "saito", CONFIG).match_archives == expected


@pytest.mark.parametrize(("config", "says"), [
    ({"repositories": [{"path": "/a"}, {"path": "/b", "label": "b"}], "source_directories": ["/s"]},
     "expected one repository (name it with 'repository:', a path or label), the configuration has /a, /b"),
    ({"repositories": [{"path": "/a"}], "source_directories": ["/s", "/t"]},
     "expected one absolute source directory, the configuration has /s, /t"),
    ({"repositories": [{"path": "/a"}], "source_directories": ["/s"], "patterns": ["R /s"]},
     "the drill does not read patterns yet"),
])
def test_a_configuration_the_drill_cannot_read_is_named(config, says):
    with pytest.raises(DrillCouldNotRun, match=r"^/etc/borgmatic/config\.yaml: ") as caught:
        read_settings(config, None, "saito", CONFIG)
    assert says in str(caught.value)


def test_the_repository_a_job_names_picks_one_by_label():
    config = {"repositories": [{"path": "/a"}, {"path": "/b", "label": "offsite"}],
              "source_directories": ["/s"]}
    assert read_settings(config, "offsite", "h", CONFIG).repository == "/b"


def test_what_the_inventory_declares_is_kept_and_the_rest_comes_from_the_host():
    job = Job.model_validate({"name": "j", "host": "saito", "kind": "borgmatic", "rpo": "26h", "rto": "30m",
                              "retention": {"daily": 3}})
    updates = job_updates(job, read_settings(shown(), None, "saito", CONFIG), ["*-*-* 00:00:00"])
    assert "retention" not in updates
    assert updates["source"] == "/srv/data"
    assert updates["excludes"] == ("*.tmp", "/srv/data/cache")
    assert updates["schedule"].timer == "borgmatic.timer"
    assert updates["schedule"].calendars == ("*-*-* 00:00:00",)


def test_a_borgmatic_job_needs_only_what_the_runbook_adds():
    job = Job.model_validate({"name": "j", "host": "h", "kind": "borgmatic", "rpo": "26h", "rto": "30m"})
    assert (job.source, job.repository) == (None, None)
    with pytest.raises(ValueError, match="a borgmatic job needs 'rto'"):
        Job.model_validate({"name": "j", "host": "h", "kind": "borgmatic", "rpo": "26h"})


def test_the_probe_opens_the_repository_through_the_jobs_own_configuration():
    job = Job.model_validate({"name": "j", "host": "h", "kind": "borgmatic", "rpo": "26h", "rto": "30m",
                              "config": "/etc/borgmatic.d/nightly.yaml"})
    words = Borgmatic.probe_words("/srv/borg/h", 45, job)
    assert words[:3] == ["borgmatic", "-c", "/etc/borgmatic.d/nightly.yaml"]
    assert words[-7:] == ["--", "list", "--last", "1", "--short", "--bypass-lock", "/srv/borg/h"]
    stock = Job.model_validate({"name": "j", "host": "h", "kind": "borgmatic", "rpo": "26h", "rto": "30m"})
    assert Borgmatic.probe_words("/srv/borg/h", 45, stock)[1:3] == ["-c", "/etc/borgmatic/config.yaml"]
    assert "-c" not in Borgmatic.probe_words("/srv/borg/h", 45)  # no job: borgmatic's default paths


# saito's systemctl show of the stock borgmatic.timer (systemd 257)
TIMER_SHOWN = b"""TimersCalendar={ OnCalendar=*-*-* 00:00:00 ; next_elapse=@1796342400 }
LoadState=loaded
ActiveState=active
UnitFileState=enabled
"""


class Saito:
    """The host's answers (the probe's collaborator): borgmatic's recorded configuration, or
    ``refused``: what borgmatic printed for a configuration it cannot parse; ``shown`` and
    ``warned``: what ``config validate --show`` printed on stdout and stderr; ``uname``: the
    host's own name, which need not be the inventory's; its stock timer as saito shows it."""

    def __init__(self, refused: str = "", shown: bytes | None = None, warned: str = "",
                 name: str = "saito", uname: str = "saito") -> None:
        self.refused, self.commands = refused, []
        self.shown = (RECORDED / "config-validate-show.txt").read_bytes() if shown is None else shown
        self.warned, self.name, self.uname = warned, name, uname

    def with_credentials(self, words, job=None):
        return words

    def run(self, words, timeout=None, privileged=True, progress=None, check=False):
        command = words if isinstance(words, str) else " ".join(words)
        self.commands.append(command)
        if "config validate --show" in command:
            if self.refused:
                return Result("saito", command, 1, b"", self.refused, 0.1)
            return Result("saito", command, 0, self.shown, self.warned, 0.1)
        if command.startswith("uname"):
            return Result("saito", command, 0, f"{self.uname}\n".encode(), "", 0.1)
        if "systemctl show" in command and "borgmatic.timer" in command:
            return Result("saito", command, 0, TIMER_SHOWN, "", 0.1)
        return Result("saito", command, 1, b"", "not in this stand-in", 0.1)


def test_the_job_read_from_the_host_is_a_copy_and_an_unread_one_names_why():
    from backup_drills.adapters.borgmatic import ConfigurationUnread, read_job

    job = Job.model_validate({"name": "j", "host": "saito", "kind": "borgmatic", "rpo": "26h", "rto": "30m"})
    read = read_job(Saito(), job)
    assert (read.repository, read.source) == ("/srv/borg/saito", "/srv/data")
    assert (job.repository, job.source) == (None, None)  # the inventory's job is left as it is
    assert Borgmatic(Saito(), read).job is read
    refused = Saito("/etc/borgmatic/config.yaml: Error parsing configuration file")
    with pytest.raises(ConfigurationUnread, match=r"host saito, job j: `borgmatic -c /etc/borgmatic/"
                       r"config\.yaml config validate --show` exited 1: .*Error parsing"):
        Borgmatic(refused, job)  # read again in the scenario: COULD NOT RUN, naming why
    assert Borgmatic(Saito(), job).repository == "/srv/borg/saito"  # read now when the probe did not


def test_borgmatic_runs_borg_through_the_same_command_as_borg_with_its_own_prefix():
    host = Saito()
    job = read_job_of(host)
    borgmatic = Borgmatic(host, job)
    borgmatic._run("list", "--json", "/srv/borg/saito")
    borgmatic._run("extract", "a::b", cwd="/scratch/x")
    listed, extracted = host.commands[-2:]
    assert listed.startswith("env TZ=UTC BORG_RELOCATED_REPO_ACCESS_IS_OK=no borgmatic -c "
                             "/etc/borgmatic/config.yaml ")
    assert listed.endswith("borg --repository /srv/borg/saito -- list --json /srv/borg/saito")
    # an extract goes through the borg-in-dir helper (export-tar into GNU tar), borgmatic's words whole
    assert extracted.startswith("sh -c ")
    assert " borg-in-dir /scratch/x borgmatic -c /etc/borgmatic/config.yaml " in extracted
    assert extracted.endswith("borg --repository /srv/borg/saito -- extract a::b")


def read_job_of(host: Saito) -> Job:
    from backup_drills.adapters.borgmatic import read_job

    return read_job(host, Job.model_validate({"name": "j", "host": "saito", "kind": "borgmatic",
                                              "rpo": "26h", "rto": "30m"}))


# borgmatic 1.9.14 (Debian 13, the lab's saito) on a configuration of sections, borgmatic 1.7's
# layout (recorded/borgmatic-1.9/config.sectioned.yaml, given on stdin): it shows the configuration
# flattened on stdout, then only "All configuration files are valid"; its summary's heading and
# the deprecation go to stderr
SECTIONED_OUT = (RECORDED / "config-validate-show.sectioned.stdout").read_bytes()
SECTIONED_ERR = (RECORDED / "config-validate-show.sectioned.stderr").read_text()


def test_a_configuration_of_sections_is_read_as_borgmatic_reads_it_and_its_deprecation_warned():
    assert SECTIONED_OUT.decode().endswith("\nAll configuration files are valid\n")  # as recorded
    config = parse_shown(SECTIONED_OUT.decode(), "nu24", CONFIG)
    settings = read_settings(config, None, "nu24", CONFIG)
    assert (settings.repository, settings.source) == ("/srv/borg/nu24", "/srv/data")
    assert settings.excludes == ("*.tmp", "/srv/data/cache")
    assert settings.exclude_caches
    assert settings.retention is not None
    assert settings.retention.daily == 7
    assert settings.match_archives == "nu24-*"
    warned: list[str] = []
    job = Job.model_validate({"name": "borgmatic", "host": "127.0.0.1", "kind": "borgmatic", "rpo": "28h",
                              "rto": "30m"})
    read = read_job(Saito(shown=SECTIONED_OUT, warned=SECTIONED_ERR, name="127.0.0.1", uname="nu24"),
                    job, warn=warned.append)
    assert read.repository == "/srv/borg/nu24"
    assert len(warned) == 1, warned
    assert warned[0].startswith("host 127.0.0.1, job borgmatic: borgmatic warns: /dev/stdin: "
                                "Configuration sections (like location:, storage:, retention:, "
                                "consistency:, and hooks:) are deprecated")


def test_discover_and_the_drill_read_a_configuration_of_sections_alike():
    from backup_drills.inventory.discover import _borgmatic_job
    from backup_drills.inventory.discover_scripts import ToolCall, parse_tool

    class Files:
        def read(self, path):
            return (RECORDED / "config.sectioned.yaml").read_text() if path == CONFIG else None

        def list_dir(self, path, suffix):
            return []

    notes: list[str] = []
    stock = ToolCall("borgmatic", ("--verbosity", "-1", "--syslog-verbosity", "1"), "ExecStart")
    found = _borgmatic_job(parse_tool(stock), {}, Files(), notes)
    drilled = read_settings(parse_shown(SECTIONED_OUT.decode(), "nu24", CONFIG), None, "nu24", CONFIG)
    assert found is not None
    assert (found["repository"], found["source"]) == (drilled.repository, drilled.source)
    assert found["retention"] == {"daily": 7, "weekly": 4, "monthly": 6}
    assert notes
    assert "borgmatic 1.7's form" in notes[0]
    assert "deprecated" in notes[0]


@pytest.mark.parametrize("tail", [
    "\n\nsummary:\nAll configuration files are valid\n",  # no warning: the summary on stdout
    "\nAll configuration files are valid\n",  # a warning: its heading went to stderr
    "\n",  # whatever else borgmatic prints after the blank line
])
def test_the_configuration_ends_where_borgmatics_summary_begins(tail):
    text = (RECORDED / "config-validate-show.txt").read_text().split("\n\n")[0] + "\n" + tail
    repositories = parse_shown(text, "saito", CONFIG)["repositories"]
    assert repositories == [{"label": "local", "path": "/srv/borg/saito"}]


def test_a_yaml_error_is_named_by_place_never_by_the_text_it_may_hold_a_passphrase():
    with pytest.raises(DrillCouldNotRun, match=r"at line 2, column \d+\)$") as caught:
        parse_shown("encryption_passphrase: hunter2-secret\n- not: a mapping\n", "saito", CONFIG)
    assert "hunter2" not in str(caught.value)
    with pytest.raises(DrillCouldNotRun, match="printed 2 configurations; a borgmatic job reads one"):
        parse_shown("---\nkeep_daily: 1\n\n---\nkeep_daily: 2\n\nAll configuration files are valid\n",
                    "saito", "/etc/borgmatic.d")


def test_an_unreadable_option_names_the_inventorys_host_and_job_and_keeps_the_stock_timer():
    with_patterns = SECTIONED_OUT.replace(b"source_directories:",
                                          b"patterns:\n    - R /srv/data\nsource_directories:")
    host = Saito(shown=with_patterns, name="127.0.0.1", uname="nu24")
    job = Job.model_validate({"name": "borgmatic", "host": "127.0.0.1", "kind": "borgmatic", "rpo": "28h",
                              "rto": "30m"})
    read = read_job(host, job)
    assert read.repository is None  # unread: its borg scenarios read it again, and could not run
    assert read.schedule is not None
    assert read.schedule.timer == "borgmatic.timer"
    assert read.schedule.calendars == ("*-*-* 00:00:00",)
    with pytest.raises(ConfigurationUnread) as caught:
        Borgmatic(host, read)
    assert str(caught.value) == ("host 127.0.0.1, job borgmatic: /etc/borgmatic/config.yaml: the drill "
                                 "does not read patterns yet: declare the job as kind: borg instead")


@pytest.mark.parametrize(("config", "form"), [
    ({"encryption_passcommand": "cat /etc/borgmatic/passphrase"}, "its encryption_passcommand"),
    ({"encryption_passphrase": "{credential systemd borgmatic_pw}"},
     "its encryption_passphrase, the systemd credential borgmatic_pw"),
    ({"encryption_passphrase": "${BORG_PW}"}, "its encryption_passphrase, the environment variable BORG_PW"),
    ({"encryption_passphrase": "hunter2-secret"}, "its encryption_passphrase"),
    ({}, "borg's own environment"),
])
def test_the_passphrases_form_is_named_never_its_value(config, form):
    base = {"repositories": [{"path": "/r"}], "source_directories": ["/s"]}
    settings = read_settings({**base, **config}, None, "h", CONFIG)
    assert settings.passphrase_from == form
    assert "hunter2" not in settings.passphrase_from
    assert "/etc/borgmatic/passphrase" not in form


class Failing(Saito):
    """saito whose borg commands (through borgmatic) fail as recorded: ``recorded`` is what
    borgmatic 1.9.14 printed on stderr, exit 1 (borgmatic's own exit for any failure)."""

    def __init__(self, recorded: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.failing = (RECORDED / recorded).read_text()
        self.drill_run = SimpleNamespace(down=SimpleNamespace(mark=lambda host, address, reason: None))

    def run(self, words, timeout=None, privileged=True, progress=None, check=False):
        command = words if isinstance(words, str) else " ".join(words)
        if " borg --repository " in command:
            self.commands.append(command)
            return Result(self.name, command, 1, b"", self.failing, 0.1)
        return super().run(words, timeout, privileged, progress, check)


def probed(host: Failing, **declared) -> str:
    from backup_drills.core.backends import probe_all

    job = read_job(host, Job.model_validate({"name": "borgmatic", "host": host.name, "kind": "borgmatic",
                                             "rpo": "28h", "rto": "30m", **declared}))
    (finding,) = probe_all(host, [job]).values()
    return finding


def test_a_failing_passcommand_names_the_job_and_quotes_borgmatics_own_lines():
    # saito: encryption_passcommand 'cat /etc/borgmatic/passphrase.moved', a file not there
    finding = probed(Failing("probe-passcommand-fails.stderr"))
    assert finding.startswith("borgmatic repository /srv/borg/saito failed the probe: a command borgmatic "
                              "runs itself failed (its encryption_passcommand?): "), finding
    assert "cat: /etc/borgmatic/passphrase.moved: No such file or directory" in finding
    assert "Command '['cat', '/etc/borgmatic/passphrase.moved']' returned non-zero exit status 1." in finding
    assert finding.endswith(" (job borgmatic: the passphrase from its encryption_passcommand in "
                            "/etc/borgmatic/config.yaml)"), finding
    for footer in ("Need some help", "An error occurred", "summary:", "Error getting local Borg version"):
        assert footer not in finding, finding


def test_a_wrong_passphrase_names_the_form_the_job_uses_not_borg_passphrase():
    finding = probed(Failing("probe-wrong-passphrase.stderr"))
    assert "BORG_PASSPHRASE" not in finding, finding
    assert finding == ("borgmatic repository /srv/borg/saito refused the credentials (the passphrase "
                       "borgmatic gives borg) (job borgmatic: the passphrase from its encryption_passcommand "
                       "in /etc/borgmatic/config.yaml)")
    shown = (RECORDED / "config-validate-show.txt").read_bytes().replace(
        b"encryption_passcommand: cat /etc/borgmatic/passphrase",
        b"encryption_passphrase: '{credential systemd borgmatic_pw}'")
    credential = Failing("probe-wrong-passphrase.stderr", shown=shown)
    assert probed(credential).endswith("(job borgmatic: the passphrase from its encryption_passphrase, the "
                                       "systemd credential borgmatic_pw in /etc/borgmatic/config.yaml)")


def test_a_held_lock_on_the_prune_dry_run_keeps_borgs_line_not_borgmatics_footer():
    # borgmatic 1.9.14 with borg 1.2.4, a scratch repository whose lock another borg held
    host = Failing("prune-dry-run-locked.borg-1.2.stderr")
    borgmatic = Borgmatic(host, read_job_of(host))
    with pytest.raises(ToolCouldNotRun) as caught:
        borgmatic.retention_dry_run([], [])
    message = str(caught.value)
    assert "the repository stayed locked" in message, message
    assert "Failed to create/acquire the lock /tmp/h24-lab/repo/lock.exclusive (timeout)." in message
    for footer in ("Need some help", "Error running actions for repository", "An error occurred",
                   "returned non-zero exit status"):
        assert footer not in message, message
    assert caught.value.output.count("Need some help") == 1  # the whole output, for the report


def test_messages_and_evidence_show_the_borgmatic_command_that_ran():
    ran = ("borgmatic -c /etc/borgmatic/config.yaml --no-color --verbosity -1 --override "
           "'borg_exit_codes=[{code: 1, treat_as: error}]' borg --repository /srv/borg/saito -- ")
    host = Failing("../borg-1.4/failures/flipped-byte.check.txt")  # borg's own words, through borgmatic
    checked = Borgmatic(host, read_job_of(host)).check()
    assert checked.command == f"{ran}check --lock-wait 30 /srv/borg/saito"  # the evidence's command
    assert checked.failed.endswith(f"; `{ran}check --lock-wait 30 /srv/borg/saito` said"), checked.failed
    host = Failing("../borg-1.4/failures/flipped-byte.extract.txt")
    borgmatic = Borgmatic(host, read_job_of(host))
    archive = Snapshot(id="ab", short_id="saito-1", time=datetime(2026, 12, 3, tzinfo=UTC), hostname="saito",
                       paths=["/srv/data"])
    with pytest.raises(RepositoryDamaged) as damaged:
        borgmatic.extract(archive, "/var/tmp/scratch/run")
    extracted = (f"`cd /var/tmp/scratch/run && {ran}export-tar --bypass-lock /srv/borg/saito::saito-1 - "
                 "| tar -x -f -`")
    assert extracted in str(damaged.value)
    with pytest.raises(RepositoryDamaged) as damaged:
        borgmatic.archives()
    assert f"`{ran}list --json --bypass-lock /srv/borg/saito`" in str(damaged.value)
    assert "`borg " not in str(damaged.value)


def test_a_host_whose_systemd_cannot_be_asked_still_gives_the_configuration():
    class NoSystemd(Saito):
        def run(self, words, timeout=None, privileged=True, progress=None, check=False):
            command = words if isinstance(words, str) else " ".join(words)
            if "systemctl" in command:  # this machine, a container: "System has not been booted with systemd"
                raise DrillCouldNotRun(f"host saito: {command} exited 1: Failed to connect to bus")
            return super().run(words, timeout, privileged, progress, check)

    read = read_job_of(NoSystemd())
    assert (read.repository, read.source, read.schedule) == ("/srv/borg/saito", "/srv/data", None)
    assert read.retention is not None
