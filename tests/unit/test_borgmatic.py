"""borgmatic's configuration as the drill reads it (drills/adapters/borgmatic.py), from what
borgmatic 1.9.14 (Debian 13) printed on the lab's saito: `borgmatic -c /etc/borgmatic/config.yaml
config validate --show` (recorded/borgmatic-1.9/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from backup_drills.adapters.borgmatic import Borgmatic, job_updates, parse_shown, read_settings
from backup_drills.core.transport import DrillCouldNotRun
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
    with pytest.raises(DrillCouldNotRun, match=r"/etc/borgmatic/config\.yaml on saito") as caught:
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


class Saito:
    """The host's answers (the probe's collaborator): borgmatic's recorded configuration, or
    ``refused``: what borgmatic printed for a configuration it cannot parse."""

    name = "saito"

    def __init__(self, refused: str = "") -> None:
        self.refused, self.commands = refused, []

    def with_credentials(self, words, job=None):
        return words

    def run(self, words, timeout=None, privileged=True, progress=None, check=False):
        from backup_drills.core.transport import Result

        command = words if isinstance(words, str) else " ".join(words)
        self.commands.append(command)
        if "config validate --show" in command:
            if self.refused:
                return Result("saito", command, 1, b"", self.refused, 0.1)
            return Result("saito", command, 0, (RECORDED / "config-validate-show.txt").read_bytes(), "", 0.1)
        if command.startswith("uname"):
            return Result("saito", command, 0, b"saito\n", "", 0.1)
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
    assert extracted.startswith("env -C /scratch/x TZ=UTC BORG_RELOCATED_REPO_ACCESS_IS_OK=no borgmatic ")


def read_job_of(host: Saito) -> Job:
    from backup_drills.adapters.borgmatic import read_job

    return read_job(host, Job.model_validate({"name": "j", "host": "saito", "kind": "borgmatic",
                                              "rpo": "26h", "rto": "30m"}))
