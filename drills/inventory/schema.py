"""The inventory: hosts, jobs, their schedules, markers, RPO and RTO; validated before any host
is touched.

    >>> inv = load_inventory("inventory/lab.yml")            # doctest: +SKIP
    >>> [job.name for job in inv.jobs_for(kind="restic")]    # doctest: +SKIP
    ['flux-backup']

Invalid input raises ``InventoryError`` whose message names the file, the key and what was
expected, e.g. ``inventory/lab.yml: jobs.flux-backup.rpo: expected a duration such as 26h ...``.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from drills.core.coverage import rotation_of
from drills.core.durations import parse_duration
from drills.core.retention import Policy
from drills.inventory.ansible import AnsibleInventoryError, read_ansible
from drills.inventory.kinds import KINDS, missing_needs

TRANSPORTS = ("ssh://", "paramiko://", "docker://", "local://")


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"expected a duration such as 26h, 7d, 15m or 1h30m, got {value!r}")
    try:
        return parse_duration(str(value)) if isinstance(value, str) else timedelta(seconds=value)
    except OverflowError:  # timedelta stops at 999999999 days
        raise ValueError(f"expected a duration of less than a million days, got {value!r}") from None


Duration = Annotated[timedelta, BeforeValidator(_duration)]


def _absolute(value: str) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise ValueError(f"expected an absolute path on the host, got {value!r}")
    return str(PurePosixPath(value))


AbsPath = Annotated[str, BeforeValidator(_absolute)]


# a public host key as ssh-keyscan or /etc/ssh/ssh_host_*_key.pub print it (a comment may follow)
HOST_KEY = (r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com) "
            r"[A-Za-z0-9+/]+={0,3}( .*)?$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Host(_Strict):
    """How to reach one host, e.g. ``transport: ssh://backup@akira.example.net``."""

    name: str = ""
    transport: str
    ssh_config: str | None = None
    ssh_identity_file: str | None = None
    # which host keys to trust (ssh:// and paramiko://, always checked strictly; neither: the
    # drilling user's ~/.ssh/known_hosts): a known_hosts file, or one pinned key as the host's
    # /etc/ssh/ssh_host_ed25519_key.pub prints it (trusted whatever address and port reach it)
    ssh_known_hosts: str | None = None
    ssh_host_key: str | None = None
    jump_host: str | None = None
    sudo: bool = False
    credentials_env: AbsPath | None = None
    credentials_owner: str = "root"  # who alone may read credentials_env (mode 0600 or stricter)
    # names of the runner's environment variables handed to the host's tools over the command's
    # stdin (never as arguments), e.g. [RESTIC_PASSWORD, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]
    credentials_from_env: tuple[Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")],
                                ...] = ()
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
    """A systemd timer and the service it starts; ``on_calendar`` as the runbook states it."""

    timer: str
    service: str
    on_calendar: str

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
    ...}``). ``os_user`` runs the database's tools; ``smoke_queries`` must return a true first
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


class Samples(_Strict):
    """Paths, relative to the job's source, that single-item restores drill."""

    file: str
    directory: str


EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class ObjectStore(_Strict):
    """An S3 endpoint the runner audits with a read-only identity of its own (never a job's
    backup credentials): the names of the runner's environment variables that hold its key,
    optionally read from a runner-side env file (mode 0600) when the environment lacks them.

    ``object_stores: {b2: {endpoint: "https://s3.us-west-002.backblazeb2.com", region: us-west-002,
    access_key_env: AUDITOR_KEY_ID, secret_key_env: AUDITOR_KEY}}``"""

    name: str = ""
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
    name: str = ""
    host: str = ""
    group: str | None = None
    kind: str  # a name of drills.inventory.kinds.KINDS
    description: str = ""
    source: AbsPath | None = None
    repository: str | None = None
    destination: str | None = None
    excludes: tuple[str, ...] = ()
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

    @property
    def read_data_rotation(self) -> int | None:
        """t of a rotating ``read_data_subset`` (``*/t``), else None."""
        return rotation_of(self.read_data_subset)

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in KINDS:
            raise ValueError(f"expected a job kind among {', '.join(sorted(KINDS))}, got {value!r}")
        return value

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
    hosts: dict[str, Host]
    jobs: dict[str, Job]
    source_file: str = ""

    @model_validator(mode="before")
    @classmethod
    def _names(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for section in ("hosts", "jobs", "object_stores"):
                entries = data.get(section)
                if isinstance(entries, dict):
                    data[section] = {k: ({"name": k, **v} if isinstance(v, dict) else v)
                                     for k, v in entries.items()}
        return data

    @model_validator(mode="after")
    def _hosts_exist(self) -> Inventory:
        for job in self.jobs.values():
            if job.bucket is not None and job.bucket.store not in self.object_stores:
                raise ValueError(f"job {job.name!r}: bucket.store names {job.bucket.store!r}, expected "
                                 f"one of object_stores {sorted(self.object_stores)}")
            if job.host not in self.hosts:
                raise ValueError(f"job {job.name!r} names host {job.host!r}, expected one of "
                                 f"{sorted(self.hosts)}")
        return self

    def jobs_for(self, kind: str | None = None, needs: str | None = None) -> list[Job]:
        """Jobs of a kind, or jobs that declare an attribute (``schedule``, ``marker``, a dotted
        one such as ``dump.canary_table``; or ``host.credentials_env``, of the job's host)."""
        def declares(job: Job, attribute: str) -> bool:
            owner: object = self.hosts[job.host] if attribute.startswith("host.") else job
            for part in attribute.removeprefix("host.").split("."):
                owner = getattr(owner, part, None)
            return owner is not None and owner != ()  # an empty list declares nothing

        return [job for job in self.jobs.values()
                if (kind is None or job.kind == kind) and (needs is None or declares(job, needs))]


class InventoryError(ValueError):
    """A bad inventory: the message names file, key and what was expected."""


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc if part not in ("function-after", "function-before"))


# libyaml's safe loader where PyYAML was built with it: the same documents, ten times faster (an
# inventory is read by every drill and every xdist worker)
SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_inventory(path: str | os.PathLike[str]) -> Inventory:
    """Read and validate an inventory file; raise InventoryError on any problem."""
    file = Path(path)
    try:
        raw = yaml.load(file.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except OSError as exc:
        raise InventoryError(f"{file}: cannot read inventory: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise InventoryError(f"{file}:{where}: not valid YAML: "
                             f"{getattr(exc, 'problem', exc)}") from exc
    if not isinstance(raw, dict):
        raise InventoryError(f"{file}: expected a mapping with keys name, hosts, jobs; "
                             f"got {type(raw).__name__}")
    if raw.get("ansible") is not None:
        raw = _with_ansible(file, raw)
    try:
        return Inventory.model_validate({**raw, "source_file": str(file)})
    except ValidationError as exc:
        raise InventoryError(_problems(file, exc)) from None


def _problems(file: Path, exc: ValidationError, prefix: tuple[str, ...] = ()) -> str:
    problems = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key (a typo?)"
        elif error["type"] == "missing":
            message = "required key is missing"
        problems.append(f"{file}: {_where((*prefix, *error['loc'])) or '(top level)'}: {message}")
    return "\n".join(problems)


def _with_ansible(file: Path, raw: dict[str, Any]) -> dict[str, Any]:
    """Merge the Ansible inventory's hosts (explicit ``hosts:`` win) and expand jobs attached
    to a ``group`` into one job per member host, keyed ``job@host``."""
    try:
        source = AnsibleSource.model_validate(raw["ansible"])
    except ValidationError as exc:
        raise InventoryError(_problems(file, exc, ("ansible",))) from None
    try:
        estate = read_ansible(file.parent / source.inventory, source.transport, source.defaults)
    except AnsibleInventoryError as exc:
        raise InventoryError(f"{file}: ansible.inventory: {exc}") from None
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
            raise InventoryError(f"{file}: jobs.{name}.group: expected a group of "
                                 f"{source.inventory}, one of {sorted(estate.groups)}; got "
                                 f"{job['group']!r}")
        for host in members:
            expanded[f"{name}@{host}"] = {**job, "name": name, "host": host}
    return {**merged, "jobs": expanded}
