"""The inventory: hosts, jobs, their schedules, markers, RPO and RTO; validated before any host
is touched.

    >>> inv = load_inventory("inventory/lab.yml")            # doctest: +SKIP
    >>> [job.name for job in inv.jobs_for(kind="restic")]    # doctest: +SKIP
    ['flux-backup']

Invalid input raises ``InventoryError``: one line a problem, naming the file, the line and
column, the key, what was expected and the value found (secrets masked), and the nearest key
for a typo, e.g. ``inventory/lab.yml:101:10: jobs.flux-backup.rpoo: unknown key (did you mean
'rpo'?)``. Duplicate keys, a second top-level section, durations without a unit or not above
zero, names outside ``[A-Za-z0-9._-]``, ``..`` in paths, a scratch that overlaps a job's data,
and credentials inside URLs are all refused.
"""

from __future__ import annotations

import difflib
import functools
import os
import posixpath
import re
import types
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal, NamedTuple, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from backup_drills.core.coverage import rotation_of
from backup_drills.core.durations import parse_duration
from backup_drills.core.restore_rotation import rotation
from backup_drills.core.retention import Policy
from backup_drills.inventory.ansible import AnsibleInventoryError, read_ansible
from backup_drills.inventory.credentials import mask, secret_in
from backup_drills.inventory.kinds import KINDS, missing_needs
from backup_drills.inventory.marked import CONTROL, Document, Place, YamlProblem, read_yaml

TRANSPORTS = ("ssh://", "paramiko://", "docker://", "local://")
# a sudo: exact host's scratch unless set: under /var/lib (root's, 0755), never a folder others
# may write, sticky or not (drills/inventory/sudoers.py open_scratch)
EXACT_SCRATCH = "/var/lib/backup-drills/scratch"


class Located(ValueError):
    """A problem a model validator finds at a key below the model (``loc``, relative to it),
    e.g. ``Located(("hosts", "akira", "scratch"), "...")`` from the inventory's validator."""

    def __init__(self, loc: tuple[str | int, ...], message: str, value: Any = None) -> None:
        super().__init__(f"{'.'.join(str(part) for part in loc)}: {message}")
        self.loc, self.message, self.value = loc, message, value


# the text validators below are pure: a fleet's jobs repeat the same few values (26h, /flux),
# each worked out once (a refused value raises each time, as nothing is cached for it)
_ONCE = functools.lru_cache(maxsize=4096)


@_ONCE
def _duration_text(value: str) -> timedelta:
    try:
        return parse_duration(value)
    except OverflowError:  # timedelta stops at 999999999 days
        raise ValueError("expected a duration of less than a million days") from None


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        delta = value
    elif isinstance(value, str):
        delta = _duration_text(value)
    else:  # a bare number (26, 26.0, 1:30 which YAML reads as 90): seconds? hours?
        raise ValueError(f"expected a duration with its unit such as 26h, 7d, 15m or 1h30m, got "
                         f"{value!r}: a number alone says neither seconds nor hours")
    if delta <= timedelta(0):
        raise ValueError(f"expected a duration greater than zero such as 26h, 7d, 15m or 1h30m, "
                         f"got {value!r}")
    return delta


Duration = Annotated[timedelta, BeforeValidator(_duration)]


def _absolute(value: str) -> str:
    return _absolute_text(value) if isinstance(value, str) else _absolute_text.__wrapped__(value)


@_ONCE
def _absolute_text(value: str) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise ValueError(f"expected an absolute path on the host, got {value!r}")
    if CONTROL.search(value):
        raise ValueError("expected a path without newlines or other control characters")
    if ".." in value.split("/"):
        raise ValueError("expected a path without '..' components (it would point outside "
                         "where it is written to)")
    return "/" + posixpath.normpath(value).lstrip("/")  # //space and /space are one path


AbsPath = Annotated[str, BeforeValidator(_absolute)]


def _relative(value: str) -> str:
    return _relative_text(value) if isinstance(value, str) else _relative_text.__wrapped__(value)


@_ONCE
def _relative_text(value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a path relative to the job's source, such as mike/photos/2024")
    if value.startswith("/"):
        raise ValueError("expected a path relative to the job's source, without a leading '/'")
    if CONTROL.search(value):
        raise ValueError("expected a path without newlines or other control characters")
    if ".." in value.split("/"):
        raise ValueError("expected a path inside the job's source, without '..' components")
    return str(PurePosixPath(value))


RelPath = Annotated[str, BeforeValidator(_relative)]

# the name of a host, job or object store: its key, used in test IDs, file names (evidence,
# known_hosts) and commands; a job expanded over an Ansible group is keyed job@host
NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
NAME_RULE = "letters, digits, '.', '_' and '-', not starting with '.' or '-'"


def _name(value: str) -> str:
    if not isinstance(value, str) or not NAME.fullmatch(value):
        raise ValueError(f"expected a name of {NAME_RULE}, got {value!r}")
    return value


def _job_key(value: str) -> str:
    name, at, host = value.partition("@") if isinstance(value, str) else (value, "", "")
    _name(name)
    if at:
        _name(host)
    return value


Name = Annotated[str, BeforeValidator(_name)]
JobKey = Annotated[str, BeforeValidator(_job_key)]


def _no_secret(value: str | None, info: ValidationInfo) -> str | None:
    """Refuse credentials written into a URL or remote (they would reach argv, evidence, logs)."""
    if value is not None:
        problem = secret_in(value, str(info.field_name))
        if problem is not None:
            raise ValueError(problem)
    return value


# a word of a password command: restic splits RESTIC_PASSWORD_COMMAND at blanks and quotes (no
# escapes: a quote or backslash inside a word would split it), borg's BORG_PASSCOMMAND with
# shlex; a word without quotes, backslashes or control characters means one word to both
_PASSWORD_WORD = re.compile(r"[^'\"\\\x00-\x1f\x7f]+")


def _password_command(value: Any) -> tuple[str, ...]:
    """A password command as its words: a list (``[pass, show, restic/flux]``) or a string split
    as the tools split it (``"pass show restic/flux"``); the tool runs it, never a shell."""
    if isinstance(value, str):
        words = value.split()
    elif isinstance(value, (list, tuple)) and all(isinstance(word, str) for word in value):
        words = list(value)
    else:
        raise ValueError("expected a command as a list of words, e.g. [pass, show, restic/flux], "
                         "or one string of words separated by blanks")
    if not words:
        raise ValueError("expected a command, got none")
    bad = next((word for word in words if not _PASSWORD_WORD.fullmatch(word)), None)
    if bad is not None:
        raise ValueError("expected words without quotes, backslashes or control characters (restic "
                         "and borg split the command themselves, each differently around those); put "
                         "a complex command in a script and name the script")
    if not words[0].startswith("/") and "/" in words[0]:
        raise ValueError(f"expected the program as an absolute path or a name on PATH, got "
                         f"{words[0]!r}")
    return tuple(words)


PasswordCommand = Annotated[tuple[str, ...], BeforeValidator(_password_command)]

# one jump host: ssh's URL ssh://[user@]host[:port], or ProxyJump's single hop [user@]host[:port]
# (no IPv6 address: OpenSSH 9.2 reads no ssh://[...] URL; a Host alias in ssh_config can name one)
JUMP_HOST = re.compile(r"(?:ssh://)?(?:[A-Za-z0-9_][A-Za-z0-9._-]*@)?[A-Za-z0-9_][A-Za-z0-9._-]*"
                       r"(?::(?P<port>[0-9]{1,5}))?")
# a public host key as ssh-keyscan or /etc/ssh/ssh_host_*_key.pub print it (a comment may follow)
HOST_KEY = (r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com) "
            r"[A-Za-z0-9+/]+={0,3}( .*)?$")


class _Strict(BaseModel):
    # hide_input_in_errors: a ValidationError printed as it is shows no value (a secret one)
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class Host(_Strict):
    """How to reach one host, e.g. ``transport: ssh://backup@akira.example.net``."""

    name: Name = ""
    transport: str
    ssh_config: str | None = None
    ssh_identity_file: str | None = None
    # which host keys to trust (ssh:// and paramiko://, always checked strictly; neither: the
    # drilling user's ~/.ssh/known_hosts): a known_hosts file, or one pinned key as the host's
    # /etc/ssh/ssh_host_ed25519_key.pub prints it (trusted whatever address and port reach it)
    ssh_known_hosts: str | None = None
    ssh_host_key: str | None = None
    jump_host: str | None = None
    # true: privileged commands run as `sudo -n timeout ... sh -c SCRIPT` (root for anything);
    # exact: one program per sudo, as `backup-drills sudoers` allows (drills/core/privilege.py)
    sudo: bool | Literal["exact"] = False
    credentials_env: AbsPath | None = None
    credentials_owner: str = "root"  # who alone may read credentials_env (mode 0600 or stricter)
    # names of the runner's environment variables handed to the host's tools over the command's
    # stdin (never as arguments), e.g. [RESTIC_PASSWORD, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]
    credentials_from_env: tuple[Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")],
                                ...] = ()
    # where restores go; with sudo: exact, /var/lib/backup-drills/scratch unless set (a root-only
    # parent: sudoers lets the drilling user restore into it as root, so only root may make its name)
    scratch: AbsPath = "/var/tmp/backup-drill"
    # how far the host's clock may be from the runner's, and a time the estate reports may lie
    # ahead of the host's clock, before either is a finding
    max_clock_skew: Duration = Field(default=timedelta(minutes=5))

    @field_validator("transport")
    @classmethod
    def _known_transport(cls, value: str) -> str:
        if not value.startswith(TRANSPORTS):
            raise ValueError(f"expected a URL starting with one of {', '.join(TRANSPORTS)}, "
                             f"got {value!r}")
        return value

    _transport_secret = field_validator("transport", "jump_host")(_no_secret)

    @field_validator("jump_host")
    @classmethod
    def _one_jump(cls, value: str | None) -> str | None:
        """One hop, as the strict ProxyCommand hands it to ssh: ``ssh://[user@]host[:port]``;
        ProxyJump's ``[user@]host[:port]`` is the same hop, kept in that form."""
        found = None if value is None else JUMP_HOST.fullmatch(value)
        if value is not None and (found is None or not 0 < int(found["port"] or 22) < 65536):
            raise ValueError("expected one jump host as ssh://[user@]host[:port] (or [user@]host[:port]), "
                             "host a name or IPv4 address (an IPv6 one through a Host alias in ssh_config); "
                             "a chain of jump hosts is not supported")
        return None if value is None else "ssh://" + value.removeprefix("ssh://")

    @model_validator(mode="before")
    @classmethod
    def _exact_scratch(cls, data: Any) -> Any:
        """A ``sudo: exact`` host without ``scratch`` restores under a root-only parent
        (EXACT_SCRATCH), never /var/tmp: see ``backup_drills.inventory.sudoers.open_scratch``."""
        if isinstance(data, dict) and data.get("sudo") == "exact" and "scratch" not in data:
            return {**data, "scratch": EXACT_SCRATCH}
        return data

    @field_validator("scratch")
    @classmethod
    def _not_root(cls, value: str) -> str:
        if value == "/":
            raise ValueError("expected a folder for the drill's restores (it makes and removes "
                             "its own folders in it), such as /var/tmp/backup-drill, not '/'")
        return value

    @model_validator(mode="after")
    def _stdin_for_credentials(self) -> Host:
        if self.credentials_from_env and not self.transport.startswith(("ssh://", "local://")):
            raise ValueError("credentials_from_env needs an ssh:// or local:// transport (the "
                             "values travel on the command's stdin)")
        return self

    @model_validator(mode="after")
    def _jump_over_ssh(self) -> Host:
        if self.jump_host is not None and not self.transport.startswith("ssh://"):
            raise ValueError("jump_host needs an ssh:// transport; with paramiko://, put a "
                             "ProxyCommand (ssh -W %h:%p JUMP) in the host's ssh_config")
        return self

    @field_validator("ssh_host_key")
    @classmethod
    def _public_key_line(cls, value: str | None) -> str | None:
        if value is not None and not re.match(HOST_KEY, value):
            raise ValueError("expected a public host key line such as 'ssh-ed25519 AAAAC3Nza...' "
                             "(the host's /etc/ssh/ssh_host_ed25519_key.pub, or ssh-keyscan's output "
                             "without the host name)")
        return value

    @model_validator(mode="after")
    def _one_trust(self) -> Host:
        if self.ssh_known_hosts and self.ssh_host_key:
            raise ValueError("ssh_known_hosts and ssh_host_key: expected one of them, got both")
        if (self.ssh_known_hosts or self.ssh_host_key) and not self.transport.startswith(
                ("ssh://", "paramiko://")):
            raise ValueError("ssh_known_hosts and ssh_host_key need an ssh:// or paramiko:// "
                             "transport (the keys an SSH server presents)")
        return self

    @field_validator("ssh_config", "ssh_identity_file", "ssh_known_hosts")
    @classmethod
    def _expand(cls, value: str | None) -> str | None:
        return None if value is None else os.path.expandvars(os.path.expanduser(value))


class Schedule(_Strict):
    """A systemd timer and the service it starts; ``on_calendar`` as the runbook states it: one
    expression, or a list when the timer has several ``OnCalendar=`` lines."""

    timer: str
    service: str
    on_calendar: str | list[str] = Field(min_length=1)

    @property
    def calendars(self) -> tuple[str, ...]:
        return (self.on_calendar,) if isinstance(self.on_calendar, str) else tuple(self.on_calendar)

    @field_validator("timer", "service")
    @classmethod
    def _unit_name(cls, value: str, info: ValidationInfo) -> str:
        suffix = f".{info.field_name}"  # the field is named after the unit type
        if not value.endswith(suffix):
            raise ValueError(f"expected a systemd unit name ending in {suffix}, got {value!r}")
        return value


class Cron(_Strict):
    """A cron entry that starts the job: the file, its five-field schedule, and the command as
    the line gives it, e.g. ``{file: /etc/cron.d/cartae-backup, schedule: "0 2 * * *",
    command: /usr/local/sbin/cartae-backup}``."""

    file: AbsPath
    schedule: str
    command: str

    @field_validator("schedule")
    @classmethod
    def _five_fields(cls, value: str) -> str:
        if not isinstance(value, str) or (len(value.split()) != 5 and not value.startswith("@")):
            raise ValueError(f"expected a cron schedule of five fields (or @daily ...), got {value!r}")
        return " ".join(value.split())


class Metrics(_Strict):
    """Backup metrics scraped without credentials from the job's host, e.g. a Pushgateway:
    ``{url: "http://127.0.0.1:9091/metrics", labels: {job: cartae-backup}}``."""

    url: str | None = None
    textfile: AbsPath | None = None  # or a node-exporter textfile on the host
    labels: dict[str, str] = Field(default_factory=dict)
    success: str = "backup_success"
    timestamp: str = "backup_timestamp_seconds"
    size: str = "backup_size_bytes"
    duration: str = "backup_duration_seconds"
    max_duration: Duration | None = None  # the duration alert, e.g. MiracleMax's 1h

    @field_validator("url")
    @classmethod
    def _plain_http(cls, value: str | None) -> str | None:
        return None if value is None else _anonymous_url(value)

    @model_validator(mode="after")
    def _one_source(self) -> Metrics:
        if (self.url is None) == (self.textfile is None):
            raise ValueError("expected exactly one of 'url' (HTTP, e.g. a Pushgateway) and "
                             "'textfile' (a node-exporter textfile on the host)")
        return self

    @property
    def where(self) -> str:
        return self.url or str(self.textfile)


class Component(_Strict):
    """One component of a tarball backup: its source directory (archived as its own basename)
    and whether its archives must be encrypted (``required``), may be (``optional``) or are
    never (``never``)."""

    source: AbsPath
    encrypt: Literal["required", "optional", "never"] = "optional"


class Tier(_Strict):
    """A further copy of the backup sets (NFS, a second disk) and how many days it keeps."""

    path: AbsPath
    keep_days: int = Field(ge=1)


class Archives(_Strict):
    """Dated backup sets of per-component tarballs (MiracleMax): ``root/<set>/<component>.tar.gz
    [.gpg]``, the set named by ``set_format`` (UTC), decrypted with ``gnupghome``'s keys. The
    root and each tier keep a window of days: every day in it has a set where history exists,
    and no set is older than the window plus a day (the next prune)."""

    root: AbsPath
    keep_days: int = Field(ge=1)  # the window the root keeps, e.g. 30 ("30 days automatic cleanup")
    set_format: str = "%Y%m%d_%H%M%S"
    components: dict[str, Component] = Field(min_length=1)
    gnupghome: AbsPath | None = None
    tiers: tuple[Tier, ...] = ()
    anomaly_ratio: float = Field(default=0.5, gt=0, le=1)  # smaller than this x the median


class Dump(_Strict):
    """A database dump the job backs up (absolute paths inside its ``source``): a PostgreSQL
    custom-format ``pg_dump`` or a Redis RDB, and the manifest of the data at dump time
    (``{"tables": {"app.orders": {"rows": 6000, "md5": ...}}}``, or ``{"keys": 1802, "digest":
    ...}``). ``os_user`` owns the live database (the canary's rows are written as it; the dump
    itself is restored by a throwaway user, never by it); ``smoke_queries`` must return a true first
    value; ``tables`` must be present; ``canary_table`` takes the drill's canary rows (a
    ``token text`` column). Or, instead of ``path``, dumps in an object store (254Carbon):
    ``remote: "minio:backups/postgres"`` (an rclone remote the host's env file configures) with
    one folder per tier and how many it keeps, ``tiers: {daily: 7, weekly: 4, monthly: 3}``;
    each dump is dated by the ``YYYYmmdd-HHMMSS`` in its name. A ``clickhouse-backup`` job's
    objects are tars of clickhouse-backup's layout (``metadata/<db>/<table>.sql``,
    ``shadow/<db>/<table>/<part>/``, ``manifest.json`` with rows and checksums per table)."""

    path: AbsPath | None = None
    remote: str | None = None
    tiers: dict[Literal["daily", "weekly", "monthly", "yearly"], int] = Field(default_factory=dict)
    format: Literal["custom", "plain"] = "custom"
    manifest: AbsPath | None = None
    database: str | None = None
    os_user: str = "postgres"
    smoke_queries: tuple[str, ...] = ("SELECT 1",)
    tables: tuple[str, ...] = ()
    canary_table: str | None = None

    _remote_secret = field_validator("remote")(_no_secret)

    @field_validator("database")
    @classmethod
    def _database_name(cls, value: str | None) -> str | None:
        """A name, never SQL or shell text: it reaches psql, createdb and clickhouse-client."""
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,62}", value):
            raise ValueError(f"expected a database name of letters, digits, '_' and '-' (1 to 63, "
                             f"not starting with '-'), not {value!r}")
        return value

    @field_validator("remote")
    @classmethod
    def _no_climbing(cls, value: str | None) -> str | None:
        if value is not None and ".." in re.split(r"[/:]", value):
            raise ValueError("expected an rclone remote path without '..' components")
        return value

    @model_validator(mode="after")
    def _one_place(self) -> Dump:
        if (self.path is None) == (self.remote is None):
            raise ValueError("expected exactly one of 'path' (a dump inside the job's source, "
                             "restored from its snapshots) and 'remote' (an rclone remote path)")
        if self.remote is not None and not self.tiers:
            raise ValueError("a dump 'remote' needs 'tiers', e.g. {daily: 7, weekly: 4}")
        return self


class Marker(_Strict):
    """A JSON status marker and the failure marker beside it."""

    path: AbsPath
    failure_path: AbsPath | None = None


def _anonymous_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
    if "@" in value.split("/")[2]:
        raise ValueError("expected a URL without credentials: it is asked anonymously")
    return value


class Endpoint(_Strict):
    """An HTTP(S) expectation checked from the job's host without credentials, e.g. the S3 API
    refuses anonymous access: ``{name: S3 API, url: "http://objectstore:8333/", status: 403}``."""

    name: str = ""
    url: str
    status: int = Field(ge=100, le=599)

    @field_validator("url")
    @classmethod
    def _plain_http(cls, value: str) -> str:
        return _anonymous_url(value)


class Runbook(_Strict):
    """The runbook an inventory's features drill: report epic, and base of section links."""

    title: str
    url: str | None = None

    def section(self, anchor: str) -> str:
        return f"{self.url}#{anchor}" if self.url else f"#{anchor}"


_BYTES = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|kB|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?\s*$")
_UNITS = {None: 1, "B": 1, "kB": 10**3, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}


def _byte_count(value: Any) -> int:
    """Bytes: a whole number, or a number with its unit (``500 MB``, ``2 GiB``)."""
    found = _BYTES.match(str(value)) if isinstance(value, int | str) and value is not True else None
    if found is None or float(found.group(1)) <= 0:
        raise ValueError(f"expected a size in bytes greater than zero, such as 2 GiB, 500 MB or "
                         f"1048576, got {value!r}")
    return int(float(found.group(1)) * _UNITS[found.group(2)])


ByteCount = Annotated[int, BeforeValidator(_byte_count), WithJsonSchema({
    "anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "pattern": _BYTES.pattern}],
    "description": "bytes, or a size with its unit: 500 MB, 2 GiB"})]


class RestoreBudget(_Strict):
    """What one drill of a restore rotation may restore: ``bytes`` at most (``2 GiB``), ``files``
    at most, a random ``sample`` of that many files outside the week's slice, and ``time``, the
    restore's own limit (default: the job's rto, else 1h).

    ``restore_budget: {bytes: 2 GiB, files: 20000, sample: 16, time: 30m}``"""

    bytes: ByteCount  # the most a drill restores: the due slice's listed sizes and the sample
    files: int | None = Field(default=None, gt=0)  # the most files a drill restores
    sample: int = Field(default=8, ge=0)  # files drawn at random outside the slice, each drill
    time: Duration | None = None  # the restore's own limit (default: the job's rto, else 1h)


class Samples(_Strict):
    """Paths, relative to the job's source, that single-item restores drill."""

    file: RelPath
    directory: RelPath


EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class ObjectStore(_Strict):
    """An S3 endpoint the runner audits with a read-only identity of its own (never a job's
    backup credentials): the names of the runner's environment variables that hold its key,
    optionally read from a runner-side env file (mode 0600) when the environment lacks them.

    ``object_stores: {b2: {endpoint: "https://s3.us-west-002.backblazeb2.com", region: us-west-002,
    access_key_env: AUDITOR_KEY_ID, secret_key_env: AUDITOR_KEY}}``"""

    name: Name = ""
    endpoint: str
    region: str = "us-east-1"
    access_key_env: EnvName
    secret_key_env: EnvName
    env_file: str | None = None
    timeout: Duration = Field(default=timedelta(seconds=20))  # each S3 API call's limit

    @field_validator("endpoint")
    @classmethod
    def _url(cls, value: str) -> str:
        return _anonymous_url(value)  # the key travels in the environment, never in the URL

    @field_validator("env_file")
    @classmethod
    def _expand_env_file(cls, value: str | None) -> str | None:
        return None if value is None else os.path.expandvars(os.path.expanduser(value))


class ObjectLock(_Strict):
    """The default retention new objects must get: ``{mode: COMPLIANCE, days: 30}``."""

    mode: Literal["GOVERNANCE", "COMPLIANCE"]
    days: int = Field(ge=1)


class BucketControls(_Strict):
    """What the bucket holding a job's backups must enforce, checked through the S3 API:
    ``bucket: {store: b2, name: backups, prefix: flux/, object_lock: {mode: COMPLIANCE, days: 30},
    encryption: required}``. Versioning and privacy are always checked; lifecycle rules must not
    expire the prefix's objects (current or noncurrent) sooner than ``keep_days`` (default: as
    long as the job's retention policy keeps snapshots)."""

    store: str
    name: str = Field(min_length=3)
    prefix: str = ""
    mfa_delete: bool = False
    object_lock: ObjectLock | None = None
    keep_days: int | None = Field(default=None, ge=1)
    encryption: Literal["required"] | None = None


class Job(_Strict):
    name: Name = ""
    host: Name = ""
    group: str | None = None
    kind: str  # a name of backup_drills.inventory.kinds.KINDS
    description: str = ""
    source: AbsPath | None = None
    repository: str | None = None
    destination: str | None = None
    excludes: tuple[str, ...] = ()
    # borg create's --exclude-caches, --exclude-if-present NAME..., --keep-exclude-tags
    exclude_caches: bool = False
    exclude_if_present: tuple[str, ...] = ()
    keep_exclude_tags: bool = False
    config: AbsPath | None = None  # kind borgmatic: its configuration (/etc/borgmatic/config.yaml)
    schedule: Schedule | None = None
    cron: Cron | None = None
    marker: Marker | None = None
    metrics: Metrics | None = None
    dump: Dump | None = None
    archives: Archives | None = None
    results: AbsPath | None = None  # a restore-test job's directory of JSON results
    rpo: Duration
    rto: Duration | None = None
    # restic's --read-data-subset: "10%", a fixed slice "2/5", or a rotation "*/5" (this ISO
    # week's slice, so five weekly drills read every pack)
    read_data_subset: Annotated[str, StringConstraints(
        pattern=r"^(\d+(\.\d+)?%|[1-9]\d*/[1-9]\d*|\*/[1-9]\d*)$")] = "10%"
    samples: Samples | None = None
    # a restore rotation "*/t": each drill restores one of t slices of the snapshot's files (by
    # path hash) and a random sample, within restore_budget (docs/restores.md)
    restore_coverage: str | None = None
    restore_budget: RestoreBudget | None = None  # what each drill of the rotation may restore
    stale_lock_age: Duration = Field(default=timedelta(minutes=30))
    backup_timeout: Duration = Field(default=timedelta(hours=1))  # an on-demand backup's limit
    # the newest snapshot may hold no less than this fraction of the median files and bytes of
    # the earlier ones (a source that was not mounted backs up almost nothing)
    shrink_ratio: float = Field(default=0.5, gt=0, le=1)
    retention: Policy | None = None
    endpoints: tuple[Endpoint, ...] | None = None
    runbook: Runbook | None = None  # when the job follows another runbook than the inventory's
    bucket: BucketControls | None = None  # the bucket's own controls, audited from the runner
    # whether the drill may write to the estate for this job (plant canaries, start on-demand
    # backups): @writes scenarios run only where this says "allowed" (or with --allow-writes)
    writes: Literal["allowed", "refused"] = "refused"
    # the job's own credentials (docs/inventory.md, "Credentials"): an env file sourced instead
    # of the host's credentials_env for this job's tool commands
    credentials_env: AbsPath | None = None
    # the repository's password in a file: restic's RESTIC_PASSWORD_FILE, borg's BORG_PASSCOMMAND
    # "cat -- FILE" (over any password the env file sets)
    password_file: AbsPath | None = None
    # a command that prints the repository's password, as words (RESTIC_PASSWORD_COMMAND,
    # BORG_PASSCOMMAND): the tool runs it, never a shell
    password_command: PasswordCommand | None = None
    # a systemd service unit whose credentials (LoadCredential=, LoadCredentialEncrypted=,
    # SetCredentialEncrypted=) the job's tool gets in $CREDENTIALS_DIRECTORY, as in the unit
    credentials_unit: Annotated[str, StringConstraints(
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9:_.@\\-]*\.service$")] | None = None
    # the credential of credentials_unit that holds the repository's password (restic's
    # RESTIC_PASSWORD_FILE, borg's BORG_PASSCOMMAND "cat" of it)
    password_credential: Annotated[str, StringConstraints(
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9._@:+-]*$")] | None = None

    @property
    def read_data_rotation(self) -> int | None:
        """t of a rotating ``read_data_subset`` (``*/t``), else None."""
        return rotation_of(self.read_data_subset)

    @property
    def restore_rotation(self) -> int | None:
        """t of the job's ``restore_coverage`` (``*/t``), else None."""
        return rotation(self.restore_coverage) if self.restore_coverage is not None else None

    @field_validator("restore_coverage")
    @classmethod
    def _rotation(cls, value: str) -> str:
        rotation(value)
        return value

    @model_validator(mode="after")
    def _budget_with_rotation(self) -> Job:
        if (self.restore_coverage is None) != (self.restore_budget is None):
            raise ValueError("restore_coverage and restore_budget go together: expected both "
                             "(a rotation such as '*/8' and {bytes: 2 GiB}) or neither")
        return self

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in KINDS:
            raise ValueError(f"expected a job kind among {', '.join(sorted(KINDS))}, got "
                             f"{value!r}{_did_you_mean(value, KINDS)}")
        return value

    _url_secret = field_validator("repository", "destination")(_no_secret)

    @model_validator(mode="after")
    def _one_password(self) -> Job:
        given = [key for key in ("password_file", "password_command", "password_credential")
                 if getattr(self, key) is not None]
        if len(given) > 1:
            raise ValueError(f"{' and '.join(given)}: expected one of them, got {len(given)}")
        if given and self.repository is None:
            raise ValueError(f"{given[0]} is the password of the job's repository: expected it "
                             "only on a job with a repository")
        if self.password_credential is not None and self.credentials_unit is None:
            raise ValueError("password_credential names one of a unit's credentials: expected "
                             "credentials_unit too (the unit that loads it)")
        return self

    @model_validator(mode="after")
    def _kind_needs(self) -> Job:
        if not self.host:
            raise ValueError("expected 'host' (or 'group', with an 'ansible:' inventory)")
        problem = missing_needs(KINDS[self.kind], lambda key: getattr(self, key, None))
        if problem is not None:
            raise ValueError(problem)
        if self.dump is not None:
            either = (self.repository is None) != (self.destination is None)
            if self.dump.path is not None and (self.source is None or not either):
                raise ValueError("a dump 'path' is restored from the job's snapshots or its "
                                 "mirror: the job needs 'source' and one of 'repository' and "
                                 "'destination'")
            self._dump_inside_source(self.dump)
        return self

    def _dump_inside_source(self, dump: Dump) -> None:
        source = PurePosixPath(self.source or "/")
        for key in ("path", "manifest"):
            path = getattr(dump, key)
            if path is not None and source not in PurePosixPath(path).parents:
                raise ValueError(f"dump.{key}: expected a path inside the job's source "
                                 f"{self.source} (restored from its snapshots or mirror), got {path!r}")

    @property
    def id(self) -> str:
        """The test ID part: ``flux-backup@motoko``."""
        return f"{self.name}@{self.host}"

    def __repr__(self) -> str:
        return self.id


# a query parameter whose name says it carries a credential: it belongs in token_env
_SECRET_QUERY = re.compile(r"(?:^|&)[^=&]*(?:token|key|secret|pass|auth|signature|sig)[^=&]*=", re.I)


def _notify_url(value: str) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
    if CONTROL.search(value) or " " in value:
        raise ValueError("expected a URL without spaces, newlines or other control characters")
    netloc = value.split("/")[2]
    if "@" in netloc:
        raise ValueError("expected a URL without credentials: name the environment variable "
                         "that holds a token with token_env")
    if not netloc:
        raise ValueError(f"expected a URL with a host, got {value!r}")
    if _SECRET_QUERY.search(value.partition("?")[2]):  # Located without a value: none shown
        raise Located((), "expected a URL without a credential in its query: name the environment "
                      "variable that holds it with token_env")
    return value


NotifyUrl = Annotated[str, BeforeValidator(_notify_url)]


def _notify_timeout(value: Any) -> timedelta:
    delta = _duration(value)
    if delta > timedelta(seconds=60):
        raise ValueError(f"expected a timeout of at most 60s: a notification must not hold up the "
                         f"drill's exit, got {value!r}")
    return delta


class Webhook(_Strict):
    """Where the run's JSON summary is POSTed at its end: ``{url: "https://hooks.example.net/x",
    token_env: DRILLS_WEBHOOK_TOKEN}`` (sent as ``Authorization: Bearer``, from the runner's
    environment)."""

    url: NotifyUrl
    token_env: EnvName | None = None


class Notify(_Strict):
    """Notifications of a run (``backup_drills.evidence.notify``): a healthchecks-style ``ping`` URL
    (``/start``, then the URL itself on success or ``/fail``), a ``webhook``, and the time
    each notification may take in all (at most 60s). A failed notification is a warning and
    never changes the verdict.

    ``notify: {ping: "https://hc-ping.com/<uuid>", webhook: {url: "https://hooks.example.net/x"},
    timeout: 10s}``"""

    ping: NotifyUrl | None = None
    webhook: Webhook | None = None
    timeout: Annotated[timedelta, BeforeValidator(_notify_timeout)] = timedelta(seconds=10)


class AnsibleSource(_Strict):
    """Hosts and groups from an Ansible inventory: ``ansible: {inventory: ansible/hosts.ini}``."""

    inventory: str
    transport: Literal["ssh", "paramiko"] = "ssh"
    defaults: dict[str, Any] = Field(default_factory=dict)


class Inventory(_Strict):
    name: str
    description: str = ""
    runbook: Runbook | None = None
    ansible: AnsibleSource | None = None
    object_stores: dict[str, ObjectStore] = Field(default_factory=dict)
    notify: Notify | None = None
    hosts: dict[Name, Host]
    jobs: dict[JobKey, Job]
    source_file: str = ""

    @model_validator(mode="before")
    @classmethod
    def _names(cls, data: Any) -> Any:
        """The key is the name: a ``name:`` that says otherwise is refused (a job expanded over
        an Ansible group is keyed ``name@host``)."""
        if isinstance(data, dict):
            data = dict(data)
            for section in ("hosts", "jobs", "object_stores"):
                entries = data.get(section)
                if isinstance(entries, dict):
                    data[section] = {k: _named(section, k, v) for k, v in entries.items()}
        return data

    @model_validator(mode="after")
    def _hosts_exist(self) -> Inventory:
        ids: dict[str, str] = {}
        for key, job in self.jobs.items():
            if job.bucket is not None and job.bucket.store not in self.object_stores:
                raise Located(("jobs", key, "bucket", "store"), f"expected one of object_stores "
                              f"{sorted(self.object_stores)}, got {job.bucket.store!r}"
                              f"{_did_you_mean(job.bucket.store, self.object_stores)}")
            if job.host not in self.hosts:
                raise Located(("jobs", key, "host"), f"expected a host of the inventory, one of "
                              f"{sorted(self.hosts)}, got {job.host!r}"
                              f"{_did_you_mean(job.host, self.hosts)}")
            if job.id in ids:
                raise Located(("jobs", key), f"job {key!r} has the id {job.id} of job {ids[job.id]!r}")
            ids[job.id] = key
        return self

    @model_validator(mode="after")
    def _scratch_apart(self) -> Inventory:
        """A host's scratch must not be, hold, or lie inside any path its jobs protect (a
        textual check; the drill checks the real paths on the host before it writes)."""
        for key, job in self.jobs.items():
            scratch = self.hosts[job.host].scratch
            for what, path in protected_paths(job):
                if _overlap(scratch, path):
                    raise Located(("hosts", job.host, "scratch"), f"{scratch} overlaps jobs.{key}."
                                  f"{what} {path}: the drill restores into scratch and removes what "
                                  "it made there; choose a scratch apart from every path the host's "
                                  "jobs back up or keep")
        return self

    def jobs_for(self, kind: str | None = None, needs: str | None = None) -> list[Job]:
        """Jobs of a kind, or jobs that declare an attribute (``schedule``, ``marker``, a dotted
        one such as ``dump.canary_table``; or ``host.credentials_env``, of the job's host; or
        one of several: ``credentials_env|host.credentials_env``)."""
        # each alternative split once, not once per job: (of the host?, the attribute's parts)
        paths = [(one.startswith("host."), one.removeprefix("host.").split("."))
                 for one in (needs.split("|") if needs is not None else ())]

        def declares(job: Job) -> bool:
            for of_host, parts in paths:
                owner: object = self.hosts[job.host] if of_host else job
                for part in parts:
                    owner = getattr(owner, part, None)
                if owner is not None and owner != ():  # an empty list declares nothing
                    return True
            return False

        # a kind that runs another's scenarios too (``also``); a part its kind reads from the
        # host (``from_host``): both asked once per kind, not once per job
        tag = KINDS[kind].tag if kind in KINDS else None
        of_kind = {name: kind is None or name == kind or (tag is not None and tag in entry.also)
                   for name, entry in KINDS.items()}
        read_later = {name: needs is not None and needs in entry.from_host
                      for name, entry in KINDS.items()}
        return [job for job in self.jobs.values()
                if of_kind[job.kind] and (needs is None or read_later[job.kind] or declares(job))]


def _named(section: str, key: Any, entry: Any) -> Any:
    if not isinstance(entry, dict):
        return entry
    written = entry.get("name", key)
    expanded = section == "jobs" and key == f"{written}@{entry.get('host')}"
    if written != key and not expanded:
        raise Located((section, key, "name"), f"expected no 'name:' (the key {key!r} is the name), "
                      f"got {written!r}")
    return {**entry, "name": written}


def protected_paths(job: Job) -> list[tuple[str, str]]:
    """The paths of a job that a scratch must stay apart from, each with its key:
    ``[("source", "/space"), ("dump.path", "/space/db/x.dump"), ...]``."""
    found: list[tuple[str, str | None]] = [
        ("source", job.source), ("results", job.results),
        ("marker.path", job.marker.path if job.marker else None),
        ("marker.failure_path", job.marker.failure_path if job.marker else None),
        ("metrics.textfile", job.metrics.textfile if job.metrics else None),
        ("dump.path", job.dump.path if job.dump else None),
        ("dump.manifest", job.dump.manifest if job.dump else None)]
    if job.archives is not None:
        found += [("archives.root", job.archives.root), ("archives.gnupghome", job.archives.gnupghome)]
        found += [(f"archives.components.{name}.source", c.source)
                  for name, c in job.archives.components.items()]
        found += [(f"archives.tiers.{i}.path", tier.path) for i, tier in enumerate(job.archives.tiers)]
    return [(what, path) for what, path in found if path]


def _overlap(one: str, other: str) -> bool:
    """Whether two normalized absolute paths are one, or one holds the other."""
    one, other = one.rstrip("/") + "/", other.rstrip("/") + "/"
    return one.startswith(other) or other.startswith(one)


def _did_you_mean(word: object, choices: Sequence[str] | dict[str, Any]) -> str:
    near = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f" (did you mean {near[0]!r}?)" if near else ""


class InventoryError(ValueError):
    """A bad inventory: the message names file, key and what was expected."""


class _Problem(NamedTuple):
    """One problem: the key path, what was expected, the value found (if worth showing), and
    whether the key itself is at fault (an unknown key)."""

    loc: tuple[str | int, ...]
    message: str
    value: Any = None
    show: bool = False
    at_key: bool = False


def _shown(value: Any) -> str:
    text = repr(mask(value) if isinstance(value, str) else value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _report(file: Path, doc: Document | None, problems: list[_Problem]) -> str:
    """``file:line:column: key.path = value: message``, one line a problem in the file's
    order, secrets masked (the value is left out where the message says what it got)."""
    lines: dict[str, tuple[int, int]] = {}
    for problem in problems:
        where, place = str(file), Place(0, 0)
        if doc is not None:
            place = doc.place(problem.loc, key=problem.at_key)
            where = f"{file}:{place.line}:{place.column}"
        key = _dotted(problem.loc) or "(top level)"
        if problem.show and "got " not in problem.message:
            key += f" = {_shown(problem.value)}"
        lines.setdefault(mask(f"{where}: {key}: {problem.message}"), (place.line, place.column))
    return "\n".join(sorted(lines, key=lambda line: lines[line]))


def _dotted(loc: Sequence[str | int]) -> str:
    return ".".join(str(part) for part in loc)


def _problems(exc: ValidationError, prefix: tuple[str, ...] = ()) -> list[_Problem]:
    problems = []
    for error in exc.errors():
        loc = (*prefix, *(p for p in error["loc"] if not str(p).startswith("function-")))
        at_key = bool(loc) and loc[-1] == "[key]"
        loc = loc[:-1] if at_key else loc
        message = str(error["msg"]).removeprefix("Value error, ")
        value, cause = error.get("input"), (error.get("ctx") or {}).get("error")
        show = value is None or isinstance(value, str | int | float | bool)
        if isinstance(cause, Located):  # found by a model's validator, at a key below the model
            loc, message = (*loc, *cause.loc), cause.message
            value, show = cause.value, cause.value is not None
        if loc[1:] and loc[-1] == "name" and value == loc[-2] and len(loc) == 3:
            continue  # the name the loader took from the key: the key's own problem names it
        if error["type"] == "extra_forbidden":
            near = _did_you_mean(loc[-1], _fields_at(loc[:-1]))
            problems.append(_Problem(loc, f"unknown key{near or ' (a typo?)'}", at_key=True))
        elif error["type"] == "missing":
            problems.append(_Problem(loc, "required key is missing"))
        else:
            problems.append(_Problem(loc, message, value, show, at_key))
    return problems


def _fields_at(loc: Sequence[str | int]) -> list[str]:
    """The keys the model allows at ``loc`` (``("jobs", "j1")``: a job's), for did-you-mean."""
    kind: Any = Inventory
    for part in loc:
        kind = _unwrapped(kind)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            field = kind.model_fields.get(str(part))
            if field is None:
                return []
            kind = field.annotation
        elif get_origin(kind) is dict:
            kind = get_args(kind)[1]
        elif get_origin(kind) in (tuple, list):
            kind = get_args(kind)[0]
        else:
            return []
    kind = _unwrapped(kind)
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return [name for name in kind.model_fields if name != "source_file"]
    return []


def _unwrapped(kind: Any) -> Any:
    """``Host | None`` and ``Annotated[Host, ...]`` as ``Host``."""
    while get_origin(kind) in (Annotated, Union, types.UnionType):
        kind = next(arg for arg in get_args(kind) if arg is not type(None))
    return kind


def load_inventory(path: str | os.PathLike[str]) -> Inventory:
    """Read and validate an inventory file; raise InventoryError on any problem."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise InventoryError(f"{file}: cannot read inventory: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1
        raise InventoryError(f"{file}:{line}: not UTF-8 text (byte {exc.object[exc.start]:#04x})") from None
    try:
        doc = read_yaml(text)
    except YamlProblem as exc:
        raise InventoryError(mask(f"{file}:{exc}")) from None
    raw = doc.data
    if not isinstance(raw, dict):
        raise InventoryError(f"{file}:1:1: expected a mapping with keys name, hosts, jobs; "
                             f"got {type(raw).__name__}")
    written = _written_names(raw)
    if written:  # named once, then left out so that the rest of the file is checked too
        raw = _without(raw, [problem.loc for problem in written])
    if raw.get("ansible") is not None:
        raw = _with_ansible(file, doc, raw)
    try:
        inventory = Inventory.model_validate({**raw, "source_file": str(file)})
    except ValidationError as exc:
        raise InventoryError(_report(file, doc, [*written, *_problems(exc)])) from None
    if written:
        raise InventoryError(_report(file, doc, written))
    return inventory


def _without(raw: dict[Any, Any], locs: list[tuple[str | int, ...]]) -> dict[Any, Any]:
    """``raw`` without the entries (``(section, key)``) or keys (``(section, key, "name")``)
    at ``locs``; the rest is shared, not copied."""
    out = dict(raw)
    for section, key, *rest in locs:
        if section not in out or not isinstance(out[section], dict):
            continue
        entries = out[section] = dict(out[section])
        if rest and isinstance(entries.get(key), dict):
            entries[key] = {k: v for k, v in entries[key].items() if k != rest[0]}
        elif not rest:
            entries.pop(key, None)
    return out


def _written_names(raw: dict[Any, Any]) -> list[_Problem]:
    """Names as the file writes them: each key is its entry's name (a ``name:`` that differs is
    refused), and no job key holds the ``@`` the drill puts between a job and its host."""
    problems = []
    for section in ("hosts", "jobs", "object_stores"):
        entries = raw.get(section)
        for key, entry in entries.items() if isinstance(entries, dict) else ():
            if section == "jobs" and isinstance(key, str) and "@" in key:
                problems.append(_Problem((section, key), f"expected a job name of {NAME_RULE}: '@' "
                                         "separates a job from its host in the ids the drill makes "
                                         "itself (a job of an Ansible group)", key, True, True))
            elif isinstance(entry, dict) and "name" in entry and entry["name"] != key:
                problems.append(_Problem((section, key, "name"), f"expected no 'name:' (the key "
                                         f"{key!r} is the name)", entry["name"], True))
    return problems


def _with_ansible(file: Path, doc: Document, raw: dict[str, Any]) -> dict[str, Any]:
    """Merge the Ansible inventory's hosts (explicit ``hosts:`` win) and expand jobs attached
    to a ``group`` into one job per member host, keyed ``job@host``."""
    try:
        source = AnsibleSource.model_validate(raw["ansible"])
    except ValidationError as exc:
        raise InventoryError(_report(file, doc, _problems(exc, ("ansible",)))) from None
    try:
        estate = read_ansible(file.parent / source.inventory, source.transport, source.defaults)
    except AnsibleInventoryError as exc:
        raise InventoryError(_report(file, doc, [_Problem(("ansible", "inventory"), str(exc))])) from None
    hosts = raw.get("hosts") or {}
    jobs = raw.get("jobs")
    merged = {**raw, "hosts": {**estate.hosts, **hosts} if isinstance(hosts, dict) else hosts}
    if not isinstance(jobs, dict):
        return merged
    expanded: dict[Any, Any] = {}
    for name, job in jobs.items():
        if not isinstance(job, dict) or "group" not in job:
            expanded[name] = job
            continue
        members = estate.groups.get(str(job["group"]))
        if members is None:
            raise InventoryError(_report(file, doc, [_Problem(
                ("jobs", name, "group"), f"expected a group of {source.inventory}, one of "
                f"{sorted(estate.groups)}, got {job['group']!r}"
                f"{_did_you_mean(job['group'], estate.groups)}")]))
        for host in members:
            expanded[f"{name}@{host}"] = {**job, "name": name, "host": host}
    return {**merged, "jobs": expanded}
