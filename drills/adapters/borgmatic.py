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

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import yaml

from backup_drills.adapters.borg import _IN_DIR, Borg
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
# (an encryption_passcommand: the list form, named with what that command printed), a passphrase
# borg refuses (borgmatic gave it, by whichever form its configuration has: named by the probe),
# and its summary, context and help lines, which name nothing (tests/unit/recorded/borgmatic-1.9)
ERRORS = ErrorTable(
    says=(
        (r"not found in configuration files", COULD_NOT_RUN,
         "the repository is not in the borgmatic configuration"),
        (r"No valid configuration files found|Error parsing configuration file", COULD_NOT_RUN,
         "borgmatic cannot read its configuration"),
        (r"Command '\[[^\]]*\]' returned non-zero exit status", COULD_NOT_RUN,
         "a command borgmatic runs itself failed (its encryption_passcommand?)"),
        (r"passphrase supplied in BORG_PASSPHRASE", COULD_NOT_RUN,
         "borg refused the passphrase borgmatic gave it"),
    ),
    findings=(
        ("not found in configuration files", "is not in the job's borgmatic configuration"),
        ("No valid configuration files found", "has no borgmatic configuration borgmatic can read"),
        ("passphrase supplied in BORG_PASSPHRASE", "refused the credentials (the passphrase borgmatic "
         "gives borg)"),
    ),
    noise=(r"summary:$|Need some help\?|(\S+: )*An error occurred$|"
           r"(\S+: )*Error running actions for repository$|(\S+: )*Error getting local Borg version$|"
           r"(\S+: )*Treating exit code \d+ as an? (error|warning), as per configuration$",),
    naming=(r"Command '\[[^\]]*\]' returned non-zero exit status",),
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


_SUMMARY = "summary:"  # the heading of borgmatic's summary (on stderr with its warnings)
_END_OF_DUMP = re.compile(r"\n[ \t]*\n(?=\S)")  # a blank line, then one at the left margin
_MAX_WARNINGS, _WARNING_CHARS = 5, 400  # borgmatic's warnings a drill repeats, each at most


def parse_shown(text: str, host: str, config: str) -> dict[str, Any]:
    """The configuration ``borgmatic -c CONFIG config validate --show`` printed on stdout.
    borgmatic 1.9 logs the configuration as YAML (ruamel's dump, which ends its text with a
    newline, and the log record adds one: a blank line), then its summary: a blank line and
    ``summary:`` unless a warning was logged (then both go to stderr, with the warnings), and
    ``All configuration files are valid``. In the dump a blank line is only ever followed by an
    indented line (the rest of a quoted or block scalar), so the configuration ends at the first
    blank line followed by a line at the left margin; what follows is borgmatic's summary.
    Several configurations (a folder of them, each after ``---``) are refused: a job reads one.
    A YAML error is named by line and column, never by the text (it may hold a passphrase).

    >>> parse_shown("keep_daily: 7\\nbootstrap: {}\\n\\nAll configuration files are valid\\n", "h", "c")
    {'keep_daily': 7, 'bootstrap': {}}
    """
    shown = f"`borgmatic -c {config} config validate --show`"
    end = _END_OF_DUMP.search(text)
    document = text[:end.start() + 1] if end else text  # the rest: the summary, whatever it says
    lines = text.splitlines()
    if "---" in lines:
        raise DrillCouldNotRun(f"host {host}: {shown} printed {lines.count('---')} configurations; a "
                               "borgmatic job reads one: name its file with config:")
    try:
        loaded = yaml.safe_load(document)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise DrillCouldNotRun(f"host {host}: {shown} printed no configuration borgmatic's way "
                               f"({problem}{where})") from None
    if not isinstance(loaded, dict):
        raise DrillCouldNotRun(f"host {host}: {shown} printed no configuration")
    return loaded


def warnings_of(stderr: str) -> list[str]:
    """What borgmatic warned about while it validated the configuration (its stderr when it
    exits 0: a deprecated form, such as the sections of a 1.7 configuration), bounded; its
    summary's heading left out.

    >>> warnings_of("\\nsummary:\\n/etc/borgmatic/config.yaml: Configuration sections (like "
    ...             "location:) are deprecated\\n")
    ['/etc/borgmatic/config.yaml: Configuration sections (like location:) are deprecated']
    """
    said = [line.strip() for line in stderr.splitlines() if line.strip() and line.strip() != _SUMMARY]
    return [line[:_WARNING_CHARS] for line in dict.fromkeys(said)][:_MAX_WARNINGS]


def _words(config: dict[str, Any], key: str) -> tuple[str, ...]:
    value = config.get(key) or ()
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


def read_settings(config: dict[str, Any], repository: str | None, hostname: str,
                  path: str) -> Settings:
    """The job as borgmatic's ``config`` (as validated) describes it; ``repository`` picks one
    when the config lists several (a path or a label). ``{hostname}`` in ``match_archives`` is
    borg's placeholder, resolved with the host's short name as borg does."""
    where = path  # the caller names the host and the job
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
    return Settings(str(repositories[0]["path"]), sources[0].rstrip("/") or "/",
                    _words(config, "exclude_patterns"), bool(config.get("exclude_caches")),
                    _words(config, "exclude_if_present"), bool(config.get("keep_exclude_tags")),
                    retention, checks, match, passphrase_form(config))


_CREDENTIAL = re.compile(r"\{credential (\w+) ([^}]+)\}")  # borgmatic 1.9's credential hooks
_VARIABLE = re.compile(r"\$\{(\w+)(:-[^}]*)?\}")  # borgmatic's ${NAME} or ${NAME:-default}


def passphrase_form(config: dict[str, Any]) -> str:
    """How borgmatic gives borg the passphrase, by the configuration's key and what it names (a
    credential's type and name, an environment variable's name), never a value.

    >>> passphrase_form({"encryption_passphrase": "{credential systemd borgmatic_pw}"})
    'its encryption_passphrase, the systemd credential borgmatic_pw'
    >>> passphrase_form({"encryption_passphrase": "${PW:-not-this}"}), passphrase_form({})
    ('its encryption_passphrase, the environment variable PW', "borg's own environment")
    """
    if config.get("encryption_passcommand"):
        return "its encryption_passcommand"
    passphrase = str(config.get("encryption_passphrase") or "").strip()
    if not passphrase:
        return "borg's own environment"
    if credential := _CREDENTIAL.fullmatch(passphrase):
        return f"its encryption_passphrase, the {credential[1]} credential {credential[2]}"
    if variable := _VARIABLE.fullmatch(passphrase):
        return f"its encryption_passphrase, the environment variable {variable[1]}"
    return "its encryption_passphrase"


def job_updates(job: Job, settings: Settings | None, calendars: Sequence[str]) -> dict[str, Any]:
    """The job's fields the configuration (None: unread) and the stock timer give, those the
    inventory left undeclared (a declared one is the runbook's promise, held against the host)."""
    found: dict[str, Any] = {} if settings is None else {
        "repository": settings.repository, "source": settings.source, "excludes": settings.excludes,
        "exclude_caches": settings.exclude_caches, "exclude_if_present": settings.exclude_if_present,
        "keep_exclude_tags": settings.keep_exclude_tags, "retention": settings.retention}
    found["schedule"] = Schedule(timer=TIMER, service=SERVICE, on_calendar=list(calendars)) \
        if calendars else None
    return {key: value for key, value in found.items()
            if getattr(job, key) in (None, (), False) and value not in (None, (), False)}


class ConfigurationUnread(DrillCouldNotRun):
    """The host's borgmatic configuration could not be read (borgmatic refused it, or the
    drill cannot read a part of it): the job's scenarios could not run, naming why."""


# how each configuration read in this process gives borg its passphrase (passphrase_form), by
# host and configuration path: a failed probe names it (Borgmatic.credentials_named)
_FORMS: dict[tuple[str, str], str] = {}
LOG = logging.getLogger(__name__)


def read_settings_of(remote: Remote, job: Job, timeout: float = 60,
                     warn: Callable[[str], None] | None = None) -> Settings:
    """The job's configuration on its host, as ``borgmatic -c CONFIG config validate --show``
    shows it (a configuration of sections, borgmatic 1.7's, comes back flat), each warning
    borgmatic printed (a deprecated form) logged and given to ``warn``, naming host and job;
    ``ConfigurationUnread`` naming host, job and why when it cannot be read."""
    config = str(job.config or CONFIG)
    who = f"host {remote.name}, job {job.name}"
    try:
        shown = remote.run(argv("borgmatic", "-c", config, "config", "validate", "--show"),
                           timeout=timeout)
        if not shown.ok:
            raise DrillCouldNotRun(f"`borgmatic -c {config} config validate --show` exited "
                                   f"{shown.exit_status}: {shown.tail(4)}")
        name = remote.run(argv("uname", "-n"), timeout=timeout, privileged=False)
        hostname = name.text.strip().split(".")[0] or remote.name
        settings = read_settings(parse_shown(shown.text, remote.name, config), job.repository,
                                 hostname, config)
    except DrillCouldNotRun as exc:
        raise ConfigurationUnread(f"{who}: {str(exc).removeprefix(f'host {remote.name}: ')}") from None
    _FORMS[(remote.name, config)] = settings.passphrase_from
    for warning in warnings_of(shown.stderr):
        said = f"{who}: borgmatic warns: {warning} (the drill reads the configuration as borgmatic does)"
        LOG.warning("%s", said)
        if warn is not None:
            warn(said)
    return settings


def read_job(remote: Remote, job: Job, timeout: float = 60,
             warn: Callable[[str], None] | None = None) -> Job:
    """A copy of ``job`` filled from the host's borgmatic configuration and stock timer (the
    inventory's job is left as it is). The probe reads it once and gives the copy to the job's
    scenarios. A configuration the drill cannot read leaves the job's borg fields unread (its
    scenarios read it again, ``Borgmatic``, and could not run, naming why), and the stock
    timer's schedule is filled in all the same: the unit is known whatever the file holds. A
    timer that cannot be read (no systemd to ask) leaves the schedule undeclared, the
    configuration read all the same."""
    try:
        settings: Settings | None = read_settings_of(remote, job, timeout, warn)
    except ConfigurationUnread as exc:
        LOG.info("%s", exc)
        settings = None
    try:
        timer = read_timer(remote, TIMER)
        calendars = timer.calendars if timer.loaded else ()
    except DrillCouldNotRun as exc:  # no systemd to ask: the configuration is read all the same
        LOG.info("host %s, job %s: %s not read: %s", remote.name, job.name, TIMER, exc)
        calendars = ()
    return job.model_copy(update=job_updates(job, settings, calendars))


class Borgmatic(Borg):
    """borg through ``borgmatic borg`` against the repository the job's configuration names:
    borgmatic supplies the passphrase, ``lock_wait``, ``ssh_command`` and borg's directories
    from the configuration, as for its own backups. The ``BackupTool`` of a borgmatic job."""

    name: ClassVar[str] = "borgmatic"
    backend: ClassVar[str] = "borgmatic repository"
    _no_policy: ClassVar[str] = ": its borgmatic configuration has no keep_ rule"
    # the retention cross-check is borg's own prune --dry-run --list through borgmatic borg:
    # borgmatic's prune --dry-run does not list what it keeps
    prune: ClassVar[str] = "borg prune"
    ERRORS: ClassVar[ErrorTable] = ERRORS

    read_job = staticmethod(read_job)  # called by the plugin when it probes the job's host

    def __init__(self, remote: Remote, job: Job) -> None:
        if job.repository is None or job.source is None:  # unread at the probe: read it now
            settings = read_settings_of(remote, job)  # or ConfigurationUnread, naming why
            job = job.model_copy(update=job_updates(job, settings, ()))
        super().__init__(remote, job)
        self.config = str(job.config or CONFIG)

    @classmethod
    def credentials_named(cls, host: str, job: Job) -> str:
        """How the job's configuration gives borg its passphrase, as a failed probe names it
        after the tool's words: " (job j: the passphrase from its encryption_passcommand in
        /etc/borgmatic/config.yaml)" (as read in this run; the configuration alone when unread)."""
        config = str(job.config or CONFIG)
        form = _FORMS.get((host, config))
        return f" (job {job.name}: the passphrase from {form} in {config})" if form else \
            f" (job {job.name}, through {config})"

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
        """borgmatic's words for borg, in ``cwd`` through the ``borg-in-dir`` helper (an extract
        goes through export-tar and GNU tar: see the helper)."""
        return ("sh", "-c", _IN_DIR, "borg-in-dir", cwd, *self._borgmatic(), *words)


_CONFORMS: type[BackupTool] = Borgmatic  # mypy holds the class to the protocol
