"""borgmatic (``kind: borgmatic``): a borg job that the host's own borgmatic configuration
describes. The inventory names the configuration (``config:``, default
``/etc/borgmatic/config.yaml``) and adds only what the runbook adds (``rpo``, ``rto``); at the
start of the drill, the job's repository, source, excludes, retention, checks and
``match_archives`` are read from the host with borgmatic's own ``config validate --show``, and
its schedule from the stock ``borgmatic.timer``. Every borg command then runs through
``borgmatic borg``, so borgmatic gives borg its passphrase (``encryption_passcommand``,
``encryption_passphrase``, a credential hook) as its own backups get it: no env file.

    >>> shown = "source_directories:\\n- /srv/data\\nrepositories:\\n- path: /srv/borg/saito\\n" \\
    ...         "keep_daily: 7\\n\\nsummary:\\nAll configuration files are valid\\n"
    >>> settings = read_settings(parse_shown(shown, "saito", "/etc/borgmatic/config.yaml"), None,
    ...                          "saito", "/etc/borgmatic/config.yaml")
    >>> settings.repository, settings.source, settings.retention.daily, settings.match_archives
    ('/srv/borg/saito', '/srv/data', 7, 'saito-*')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import yaml

from backup_drills.adapters.borg import Borg
from backup_drills.adapters.systemd import read_timer
from backup_drills.adapters.tool import BackupTool
from backup_drills.core.retention import Policy
from backup_drills.core.tool_errors import COULD_NOT_RUN, ErrorTable
from backup_drills.core.transport import DrillCouldNotRun, Remote, argv
from backup_drills.inventory.schema import Job, Schedule

CONFIG = "/etc/borgmatic/config.yaml"  # the stock path, borgmatic's first default
TIMER, SERVICE = "borgmatic.timer", "borgmatic.service"  # Debian's stock units
# what borgmatic 1.9 names the archives it makes (borg 1.x), when the config names no format
DEFAULT_FORMAT = "{hostname}-{now:%Y-%m-%dT%H:%M:%S.%f}"
# borg's exit 1 (a warning: borg check found damage, a file changed while read) fails the
# command, as it does for a borg job: borgmatic's default would call it a warning and exit 0
STRICT = ("--override", "borg_exit_codes=[{code: 1, treat_as: error}]")
# the parts of a configuration the drill cannot yet read as borg create does: refused, named
UNREAD = ("patterns", "patterns_from", "exclude_from", "one_file_system", "source_directories_must_exist")
_KEEP = ("keep_last", "keep_secondly", "keep_minutely", "keep_hourly", "keep_daily", "keep_weekly",
         "keep_monthly", "keep_yearly", "keep_within")
_NOW = re.compile(r"\{(now|utcnow|pid)([:%\w.-]*)\}")  # borgmatic's make_match_archives_flags
# borgmatic's own words (1.9), before borg's: its configuration, the commands it runs itself
# (an encryption_passcommand: the list form), and its summary and help lines, which name nothing
ERRORS = ErrorTable(
    says=(
        (r"not found in configuration files", COULD_NOT_RUN,
         "the repository is not in the borgmatic configuration"),
        (r"No valid configuration files found|Error parsing configuration file", COULD_NOT_RUN,
         "borgmatic cannot read its configuration"),
        (r"Command '\[[^\]]*\]' returned non-zero exit status", COULD_NOT_RUN,
         "a command borgmatic runs itself failed (its encryption_passcommand?)"),
    ),
    findings=(
        ("not found in configuration files", "is not in the job's borgmatic configuration"),
        ("No valid configuration files found", "has no borgmatic configuration borgmatic can read"),
    ),
    noise=(r"summary:$|Need some help\?|(\S+: )?An error occurred$|"
           r"(\S+: )?Error running actions for repository$",),
) + Borg.ERRORS


@dataclass(frozen=True)
class Settings:
    """What the drill takes from a borgmatic configuration."""

    repository: str
    source: str
    excludes: tuple[str, ...]
    exclude_caches: bool
    exclude_if_present: tuple[str, ...]
    keep_exclude_tags: bool
    retention: Policy | None
    checks: tuple[str, ...]
    match_archives: str | None
    passphrase_from: str  # how borgmatic gets the passphrase (never its value)
    notes: list[str] = field(default_factory=list)


def parse_shown(text: str, host: str, config: str) -> dict[str, Any]:
    """The configuration ``borgmatic -c CONFIG config validate --show`` printed: YAML, then
    borgmatic's summary (``summary:`` after a blank line), which is not part of it."""
    document = re.split(r"\n\s*\nsummary:\s*\n", text, maxsplit=1)[0]
    try:
        loaded = yaml.safe_load(document)
    except yaml.YAMLError as exc:
        raise DrillCouldNotRun(f"host {host}: `borgmatic -c {config} config validate --show` printed "
                               f"no configuration borgmatic's way ({exc})") from None
    if not isinstance(loaded, dict):
        raise DrillCouldNotRun(f"host {host}: `borgmatic -c {config} config validate --show` printed "
                               "no configuration")
    return loaded


def _words(config: dict[str, Any], key: str) -> tuple[str, ...]:
    value = config.get(key) or ()
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


def read_settings(config: dict[str, Any], repository: str | None, hostname: str,
                  path: str) -> Settings:
    """The job as borgmatic's ``config`` (as validated) describes it; ``repository`` picks one
    when the config lists several (a path or a label). ``{hostname}`` in ``match_archives`` is
    borg's placeholder, resolved with the host's short name as borg does."""
    where = f"{path} on {hostname}"
    unread = [key for key in UNREAD if config.get(key)]
    if unread:
        raise DrillCouldNotRun(f"{where}: the drill does not read {', '.join(unread)} yet: "
                               "declare the job as kind: borg instead")
    repositories = [r if isinstance(r, dict) else {"path": r} for r in config.get("repositories") or ()]
    if repository is not None:
        repositories = [r for r in repositories if repository in (r.get("path"), r.get("label"))]
    if len(repositories) != 1:
        listed = ", ".join(str(r.get("path")) for r in config.get("repositories") or ()) or "none"
        raise DrillCouldNotRun(f"{where}: expected one repository (name it with 'repository:', a "
                               f"path or label), the configuration has {listed}")
    sources = _words(config, "source_directories")
    if len(sources) != 1 or not sources[0].startswith("/"):
        raise DrillCouldNotRun(f"{where}: expected one absolute source directory, the configuration "
                               f"has {', '.join(sources) or 'none'}")
    keeps = {key: config[key] for key in _KEEP if config.get(key)}
    if "keep_secondly" in keeps or "keep_minutely" in keeps:
        raise DrillCouldNotRun(f"{where}: keep_secondly and keep_minutely are not judged by the drill")
    match = config.get("match_archives") or (config.get("prefix") and f"{config['prefix']}*")
    if not match:
        derived = _NOW.sub("*", str(config.get("archive_name_format") or DEFAULT_FORMAT))
        match = None if derived == "*" else derived
    match = str(match).removeprefix("sh:").replace("{hostname}", hostname) if match else None
    if match in ("*", "re:.*"):
        match = None
    retention = Policy.model_validate({**keeps, "match_archives": match}) if keeps else None
    checks = tuple(str(c.get("name")) if isinstance(c, dict) else str(c)
                   for c in config.get("checks") or ())
    if "encryption_passcommand" in config:
        passphrase_from = "its encryption_passcommand"
    elif "encryption_passphrase" in config:
        passphrase_from = "its encryption_passphrase (or the credential it names)"
    else:
        passphrase_from = "borg's own environment (no passphrase in the configuration)"
    return Settings(str(repositories[0]["path"]), sources[0].rstrip("/") or "/",
                    _words(config, "exclude_patterns"), bool(config.get("exclude_caches")),
                    _words(config, "exclude_if_present"), bool(config.get("keep_exclude_tags")),
                    retention, checks, match, passphrase_from)


def job_updates(job: Job, settings: Settings, calendars: Sequence[str]) -> dict[str, Any]:
    """The job's fields the configuration and the stock timer give, those the inventory left
    undeclared (a declared one is the runbook's promise, held against the host)."""
    found: dict[str, Any] = {
        "repository": settings.repository, "source": settings.source, "excludes": settings.excludes,
        "exclude_caches": settings.exclude_caches, "exclude_if_present": settings.exclude_if_present,
        "keep_exclude_tags": settings.keep_exclude_tags, "retention": settings.retention,
        "schedule": Schedule(timer=TIMER, service=SERVICE, on_calendar=list(calendars))
        if calendars else None}
    return {key: value for key, value in found.items()
            if getattr(job, key) in (None, (), False) and value not in (None, (), False)}


class ConfigurationUnread(DrillCouldNotRun):
    """The host's borgmatic configuration could not be read (borgmatic refused it, or the
    drill cannot read a part of it): the job's scenarios could not run, naming why."""


def read_job(remote: Remote, job: Job, timeout: float = 60) -> Job:
    """A copy of ``job`` filled from the host's borgmatic configuration and stock timer (the
    inventory's job is left as it is); ``ConfigurationUnread`` naming why when it cannot be read.
    The probe reads it once and gives the copy to the job's scenarios (``Borgmatic`` reads it
    again for a job that reaches it unread)."""
    config = str(job.config or CONFIG)
    try:
        shown = remote.run(argv("borgmatic", "-c", config, "config", "validate", "--show"),
                           timeout=timeout)
        if not shown.ok:
            raise DrillCouldNotRun(f"host {remote.name}, job {job.name}: `borgmatic -c {config} config "
                                   f"validate --show` exited {shown.exit_status}: {shown.tail(4)}")
        name = remote.run(argv("uname", "-n"), timeout=timeout, privileged=False)
        hostname = name.text.strip().split(".")[0] or remote.name
        settings = read_settings(parse_shown(shown.text, remote.name, config), job.repository,
                                 hostname, config)
    except DrillCouldNotRun as exc:
        raise ConfigurationUnread(str(exc)) from None
    timer = read_timer(remote, TIMER)
    return job.model_copy(update=job_updates(job, settings, timer.calendars if timer.loaded else ()))


class Borgmatic(Borg):
    """borg through ``borgmatic borg`` against the repository the job's configuration names:
    borgmatic supplies the passphrase, ``lock_wait``, ``ssh_command`` and borg's directories
    from the configuration, as for its own backups. The ``BackupTool`` of a borgmatic job."""

    name: ClassVar[str] = "borgmatic"
    backend: ClassVar[str] = "borgmatic repository"
    _no_policy: ClassVar[str] = ": its borgmatic configuration has no keep_ rule"
    # the retention cross-check is borg's own prune --dry-run --list through borgmatic borg:
    # borgmatic's prune --dry-run does not list what it keeps
    _through: ClassVar[str] = " (through borgmatic)"
    prune: ClassVar[str] = "borg prune"
    ERRORS: ClassVar[ErrorTable] = ERRORS

    read_job = staticmethod(read_job)  # called by the plugin when it probes the job's host

    def __init__(self, remote: Remote, job: Job) -> None:
        if job.repository is None or job.source is None:  # not read at the probe: read it now
            job = read_job(remote, job)  # or ConfigurationUnread, naming why
        super().__init__(remote, job)
        self.config = str(job.config or CONFIG)

    @classmethod
    def probe_words(cls, address: str, limit: float, job: Job | None = None) -> list[str]:
        """``borgmatic borg list --last 1`` of the repository, through the job's configuration
        (without a job, borgmatic's default configuration paths)."""
        chosen = ("-c", str(job.config or CONFIG)) if job is not None else ()
        return ["borgmatic", *chosen, "--no-color", "--verbosity", "-1", *STRICT, "borg",
                "--repository", address, "--", *Borg.probe_words(address, limit)[1:]]

    def _borgmatic(self) -> tuple[str, ...]:
        # "--": borg's own options after it (borgmatic would take --dry-run as its own)
        return ("borgmatic", "-c", self.config, "--no-color", "--verbosity", "-1", *STRICT, "borg",
                "--repository", self.repository, "--")

    def _borg(self) -> tuple[str, ...]:
        return self._borgmatic()

    def _in_dir(self, cwd: str, words: Sequence[str]) -> tuple[str, ...]:
        return ("env", "-C", cwd, "TZ=UTC", "BORG_RELOCATED_REPO_ACCESS_IS_OK=no", *self._borgmatic(),
                *words)


_CONFORMS: type[BackupTool] = Borgmatic  # mypy holds the class to the protocol
