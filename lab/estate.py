"""The lab estate: an object store and two hosts after the PHC runbook, kept up idempotently.

``up`` builds what is missing, creates or restarts containers (recreating any whose image or
credentials changed), writes credentials and SSH keys, seeds data, and runs each backup job once
when its marker is missing or older than 12 hours. A second ``up`` with nothing changed takes
seconds.

    >>> Lab().up()        # doctest: +SKIP
    lab up: akira (ssh 127.0.0.1:2221), motoko (ssh 127.0.0.1:2222), objectstore (s3 127.0.0.1:18333)
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shlex
import tarfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import docker
import docker.errors
import yaml
from docker.models.containers import Container
from docker.types import EndpointConfig

from backup_drills.core.retention import BUCKETS
from lab.images import build_all
from lab.restic_keys import LAB_N, key_id, rewrapped
from lab.state import S3_PORT, Identity, LabState

NETWORK = "drill-lab"
PREFIX = "drill-lab-"
STORE_VOLUME = "drill-lab-objectstore-data"
ENV_FILE = "/etc/miket/storage-credentials.env"
ENDPOINT = "http://objectstore:8333"
MARKERS = "/space/_ops/data-estate/markers"
WITH_CREDENTIALS = f"set -a; . {ENV_FILE}; set +a; "  # a shell prefix: the host's own env file
SYSTEMD_RUN = {
    "cap_add": ["SYS_ADMIN"], "security_opt": ["seccomp=unconfined"],
    "tmpfs": {"/run": "", "/run/lock": ""},
    "volumes": {"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "ro"}},
}


@dataclass(frozen=True)
class LabHost:
    """A lab host: where it listens, what it holds, which jobs it runs (service, marker)."""

    name: str
    ssh_port: int
    seed_profile: str
    seed_root: str
    identity: str
    jobs: tuple[tuple[str, str], ...]
    seed_args: str = ""
    repository: str = "flux"
    history: bool = False  # backdated snapshots for the retention policy to keep
    image: str = "host"
    seed_script: str = "seed.py"
    cron: tuple[tuple[str, str], ...] = ()  # (command cron runs, the marker it writes)
    prepare: str = ""  # a shell script run once the host is up, before any backup
    backdate: str = ""  # the estate's job with a faked clock: `<command> --backfill TIME...`
    backdate_times: Callable[[datetime], list[datetime]] | None = None
    borg: bool = False  # the local borg archive of /flux/active (flux-borg.timer)
    borgmatic: bool = False  # Debian's borgmatic, its stock timer and /etc/borgmatic/config.yaml

    def env_file(self, state: LabState) -> str:
        ident = state.identities["restic" if self.identity == "dumps" else self.identity]
        lines = {"AWS_ACCESS_KEY_ID": ident.access_key,
                 "AWS_SECRET_ACCESS_KEY": ident.secret_key}
        if self.identity == "mirror":
            lines |= {"RCLONE_CONFIG_B2MIRROR_TYPE": "s3",
                      "RCLONE_CONFIG_B2MIRROR_PROVIDER": "Other",
                      "RCLONE_CONFIG_B2MIRROR_ENDPOINT": ENDPOINT,
                      "RCLONE_CONFIG_B2MIRROR_ACCESS_KEY_ID": ident.access_key,
                      "RCLONE_CONFIG_B2MIRROR_SECRET_ACCESS_KEY": ident.secret_key,
                      "MIRROR_DESTINATION": "b2mirror:space-mirror"}
        elif self.identity == "dumps":  # 254Carbon: pg_dump to the object store with rclone
            lines |= {"RCLONE_CONFIG_MINIO_TYPE": "s3", "RCLONE_CONFIG_MINIO_PROVIDER": "Other",
                      "RCLONE_CONFIG_MINIO_ENDPOINT": ENDPOINT,
                      "RCLONE_CONFIG_MINIO_ACCESS_KEY_ID": ident.access_key,
                      "RCLONE_CONFIG_MINIO_SECRET_ACCESS_KEY": ident.secret_key}
        else:
            lines |= {"RESTIC_REPOSITORY": f"s3:{ENDPOINT}/{RESTIC_BUCKET}/{self.repository}",
                      "RESTIC_PASSWORD": state.restic_password,
                      "BORG_PASSPHRASE": state.restic_password,
                      # quoted: read by both systemd's EnvironmentFile= and `sh -c '. file'`
                      "RESTIC_FORGET": '"{}"'.format(
                          " ".join(f"--keep-{slot} {n}" for slot, n in RETENTION.items()))}
        return "".join(f"{key}={value}\n" for key, value in lines.items())


RECOVERY_KEY = "recovery@miraclemax.lab"
RESTIC_BUCKET = "backups-restic"  # every lab host's restic repository, one prefix each
BORG_REPO = "/srv/borg/flux"
# what inventory/lab.yml's jobs declare of their buckets (bucket.feature)
BUCKET_CONTROLS: dict[str, dict[str, Any]] = {
    "backups-restic": {"lock": {"Mode": "GOVERNANCE", "Days": 7}, "encryption": True},
    "backups": {},
}  # motoko's and batou's local borg repository (flux-borg.service)
# An unprivileged account the suite may drill as: the lab's key, and sudo for the one entry
# point the suite escalates through (`sudo -n timeout ...`), as a real estate's sudoers would.
DRILL_USER = ("id drill >/dev/null 2>&1 || useradd -m -s /bin/sh drill; "
              "install -d -m 0700 -o drill -g drill /home/drill/.ssh && install -m 0600 -o drill "
              "-g drill /root/.ssh/authorized_keys /home/drill/.ssh/authorized_keys && "
              "echo 'drill ALL=(root) NOPASSWD: /usr/bin/timeout' > /etc/sudoers.d/drill && "
              "chmod 0440 /etc/sudoers.d/drill")
# A second account with no sudo rights of its own: tests/faults/test_least_privilege.py installs
# the file `backup-drills sudoers` generates for motoko's, akira's and cartae's read-only jobs
# (sudo: exact), and its helpers, as its only rights
DRILL_EXACT_USER = ("id drill-exact >/dev/null 2>&1 || useradd -m -s /bin/sh drill-exact; "
                    "install -d -m 0700 -o drill-exact -g drill-exact /home/drill-exact/.ssh && "
                    "install -m 0600 -o drill-exact -g drill-exact /root/.ssh/authorized_keys "
                    "/home/drill-exact/.ssh/authorized_keys")
NEXTCLOUD_DUMPS = "/space/_services/nextcloud/db-snapshots"
CARBON_JOBS = ("carbon-pg-dump", "carbon-clickhouse-backup")  # 254Carbon's CronJobs
# A database host without Cartae's own backup: PostgreSQL alone
DB_ONLY = ("rm -f /etc/cron.d/cartae-backup && systemctl disable --now redis-server "
           "prometheus-pushgateway >/dev/null 2>&1")
# What saito's borgmatic config excludes: '*.tmp' files, /srv/data/cache, and a directory
# tagged CACHEDIR.TAG (exclude_caches); a healthy drill must not report them missing.
SAITO_EXCLUDED = (
    "mkdir -p /srv/data/cache /srv/data/scratch/tmp && for i in 1 2 3 4 5 6; do "
    "echo cached $i > /srv/data/cache/blob-$i.dat; "
    "echo partial $i > /srv/data/active/project-alpha/src/upload-$i.tmp; done && "
    "printf 'Signature: 8a477f597d28d172789f06886806bc55\\n# a cache: borg --exclude-caches skips "
    "it\\n' > /srv/data/scratch/tmp/CACHEDIR.TAG")
BORGMATIC_REPO = "/srv/borg/saito"  # lab/images/borgmatic/files/etc/borgmatic/config.yaml
BORGMATIC_NIGHTS = 40  # the history: 04:00 on each of the 40 nights before the first up
BORGMATIC_CONFIG = "/etc/borgmatic/config.yaml"  # the image's (a passcommand)
# saito's second borgmatic configuration, whose passphrase reaches borgmatic only through systemd's
# credentials, as the stock borgmatic.service hands them over (LoadCredentialEncrypted=). borgmatic
# 1.9's {credential systemd NAME} takes only names of word characters (^\w+$, its
# hooks/credential/systemd.py): the stock unit's borgmatic.pw cannot be named there, so a drop-in
# loads borgmatic_pw in its place. The stock unit runs both configurations (/etc/borgmatic.d).
CREDENTIAL_NAME = "borgmatic_pw"
CREDENTIAL_FILE = f"/etc/credstore.encrypted/{CREDENTIAL_NAME}"  # where systemd looks for it
CREDENTIAL_CONFIG = "/etc/borgmatic.d/credential.yaml"
CREDENTIAL_REPO = "/srv/borg/saito-credential"
CREDENTIAL_DROP_IN = "/etc/systemd/system/borgmatic.service.d/credential.conf"
CREDENTIAL_UNIT_LINES = (
    "# borgmatic_pw in place of the stock borgmatic.pw: borgmatic's {credential systemd NAME}\n"
    "# takes word characters only (drill-lab)\n"
    f"[Service]\nLoadCredentialEncrypted=\nLoadCredentialEncrypted={CREDENTIAL_NAME}\n")
CREDENTIAL_CONFIG_TEXT = f"""# a second borgmatic configuration on saito (drill-lab): its own repository, its
# passphrase only from the systemd credential borgmatic.service loads ({CREDENTIAL_NAME})
source_directories:
    - /srv/data

repositories:
    - path: {CREDENTIAL_REPO}
      label: credential

exclude_patterns:
    - '*.tmp'
    - /srv/data/cache

exclude_caches: true

archive_name_format: '{{hostname}}-{{now:%Y-%m-%dT%H:%M:%S}}'

encryption_passphrase: "{{credential systemd {CREDENTIAL_NAME}}}"

keep_daily: 7
keep_weekly: 4
keep_monthly: 6
"""
# borgmatic with the unit's credentials as systemd itself gives them (a transient unit)
WITH_UNIT_CREDENTIAL = f"systemd-run --quiet --pipe --wait -p LoadCredentialEncrypted={CREDENTIAL_NAME} "
HOSTS = (
    LabHost("akira", 2221, "space", "/space", "mirror",
            (("nextcloud-db-dump", f"{NEXTCLOUD_DUMPS}/nextcloud.dump"),  # before the mirror
             ("space-mirror", f"{MARKERS}/b2_mirror.json"),
             ("restore-test", f"{MARKERS}/restore_test.json")), image="dbhost",
            prepare=f"{DB_ONLY}; /usr/local/lib/drill-lab/seed-cartae.py nextcloud --no-redis "
                    f">/dev/null; {DRILL_USER}; {DRILL_EXACT_USER}"),
    LabHost("motoko", 2222, "flux", "/flux", "restic",
            (("flux-backup", f"{MARKERS}/restic_cloud.json"),
             ("restic-check", f"{MARKERS}/restic_check.json")),
            history=True, borg=True, prepare=DRILL_EXACT_USER),
    LabHost("cartae", 2223, "", "/var/backups/cartae", "restic", (), repository="cartae",
            history=True, image="dbhost", seed_script="seed-cartae.py",
            cron=(("/usr/local/sbin/cartae-backup",
                   "/var/lib/cartae-backup/markers/cartae_backup.json"),), prepare=DRILL_EXACT_USER),
    LabHost("carbon", 2225, "254carbon --no-redis", "", "dumps", (), image="chhost",
            seed_script="seed-cartae.py",
            cron=tuple((f"{WITH_CREDENTIALS}{job} >> /var/log/{job}.log 2>&1", f"/var/log/{job}.log")
                       for job in CARBON_JOBS),
            prepare=f"{DB_ONLY} && "
                    + " && ".join(f"cp /usr/local/share/drill-lab/{job}.cron /etc/cron.d/{job}"
                                  for job in CARBON_JOBS)
                    + " && /usr/local/lib/drill-lab/seed-clickhouse >/dev/null",
            backdate=f"{WITH_CREDENTIALS}sh -c '"
                     + " && ".join(f'{job} "$@"' for job in CARBON_JOBS) + "' backfill",
            backdate_times=lambda now: carbon_times(now)),
    # the newer generation (Debian 13: restic 0.18, systemd 257, PostgreSQL 17, Redis 8): twins
    # of motoko and cartae, their own repositories in the same object store
    LabHost("batou", 2226, "flux", "/flux", "restic",
            (("flux-backup", f"{MARKERS}/restic_cloud.json"),
             ("restic-check", f"{MARKERS}/restic_check.json")),
            repository="batou", history=True, image="host-trixie", borg=True),
    LabHost("togusa", 2227, "", "/var/backups/cartae", "restic", (), repository="togusa",
            history=True, image="dbhost-trixie", seed_script="seed-cartae.py",
            cron=(("/usr/local/sbin/cartae-backup",
                   "/var/lib/cartae-backup/markers/cartae_backup.json"),)),
    # a Debian 13 host set up as a borgmatic user would: Debian's borgmatic 1.9, its stock timer,
    # /etc/borgmatic/config.yaml (lab/images/borgmatic) with a passcommand, excludes and
    # exclude_caches; no env file: the drill reads the job and its passphrase through borgmatic
    LabHost("saito", 2228, "flux", "/srv/data", "", (), seed_args="--files 400 --large-mb 1",
            image="borgmatic", prepare=SAITO_EXCLUDED, borgmatic=True),
    LabHost("miraclemax", 2224, "miraclemax", "/home/jbyrd", "",
            (("pai-miraclemax-backup", "/var/lib/prometheus/node-exporter/miraclemax_backup.prom"),
             ("pai-actual-backup", "/var/lib/prometheus/node-exporter/actual_backup.prom")),
            image="tarhost", prepare=f"gpg --list-keys {RECOVERY_KEY} >/dev/null 2>&1 || gpg --batch "
            f"--passphrase '' --quick-gen-key 'MiracleMax Recovery <{RECOVERY_KEY}>' default default "
            "never 2>/dev/null",
            backdate="sh -c 'pai-miraclemax-backup \"$@\" && pai-actual-backup \"$@\"' backfill",
            backdate_times=lambda now: daily_times(now, TARBALL_DAYS)),
)
# what the lab's restic jobs keep (`restic forget` after each backup), as inventory/lab.yml states
RETENTION = {"daily": 7, "weekly": 4, "monthly": 12}
TARBALL_DAYS = 30  # MiracleMax: 30 days kept locally


def history_times(now: datetime) -> list[tuple[str, datetime]]:
    """04:00 on each day, week and month the retention policy keeps, before today, by slot: the
    past a lab that had always run would hold.

    >>> [(slot, f"{t:%m-%d}") for slot, t in history_times(datetime(2026, 11, 22, 9, tzinfo=UTC))][:2]
    [('daily', '11-21'), ('daily', '11-20')]
    """
    day = now.replace(hour=4, minute=0, second=0, microsecond=0)
    times = [("daily", day - timedelta(days=d)) for d in range(1, RETENTION["daily"])]
    times += [("weekly", day - timedelta(weeks=w)) for w in range(1, RETENTION["weekly"])]
    month = day.replace(day=1)
    for _ in range(RETENTION["monthly"] - 1):
        month = (month - timedelta(days=1)).replace(day=1)
        times.append(("monthly", month))
    return times


def missing_history(times: list[datetime]) -> list[datetime]:
    """The ``history_times`` whose day, week or month none of ``times`` (the backups a
    repository holds) falls in: what backdating must still add, oldest first."""
    have = {slot: {bucket(t) for t in times} for slot, bucket in BUCKETS.items()}
    return sorted({t for slot, t in history_times(datetime.now(UTC)) if BUCKETS[slot](t) not in have[slot]})


def daily_times(now: datetime, days: int) -> list[datetime]:
    """03:00 on each of the ``days - 1`` days before today, oldest first."""
    today = now.replace(hour=3, minute=0, second=0, microsecond=0)
    return [today - timedelta(days=d) for d in range(days - 1, 0, -1)]


def carbon_times(now: datetime) -> list[datetime]:
    """254Carbon's past (7 daily / 4 weekly / 3 monthly with what today's run files): 03:00 on
    the last 6 days, on the last 4 Sundays and the 1st of the last 3 months, today excepted.

    >>> [f"{t:%m-%d}" for t in carbon_times(datetime(2026, 11, 22, 9, tzinfo=UTC))][:4]
    ['09-01', '10-01', '11-01', '11-08']
    """
    today = now.replace(hour=3, minute=0, second=0, microsecond=0)
    sunday = today - timedelta(days=today.isoweekday() % 7)
    times = daily_times(now, 7) + [sunday - timedelta(weeks=w) for w in range(4)]
    first = today.replace(day=1)
    for _ in range(3):
        times.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    return sorted({t for t in times if t.date() != today.date()})


FLEET_PORTS = 2300
FLEET_MAX = 64
FLEET_NAME = re.compile(r"ws\d\d")
INOTIFY_INSTANCES = Path("/proc/sys/fs/inotify/max_user_instances")


def fleet_host(index: int) -> LabHost:
    """Workspace host ``wsNN`` of a scale lab: a small /flux, its own restic repository.

    >>> host = fleet_host(3)
    >>> host.name, host.ssh_port, host.repository
    ('ws03', 2303, 'fleet-ws03')
    """
    name = f"ws{index:02d}"
    return LabHost(name, FLEET_PORTS + index, "flux", "/flux", "restic",
                   (("flux-backup", "restic_cloud.json"),), seed_args="--files 300 --large-mb 1",
                   repository=f"fleet-{name}")


def fleet_inventory(count: int, ssh_config: str, known_hosts: str | None = None) -> dict[str, Any]:
    """The inventory of ``count`` fleet hosts, one restic job each (validated by the loader); their
    keys in ``known_hosts`` (default: the lab's, beside ``ssh_config``)."""
    known_hosts = known_hosts or str(Path(ssh_config).with_name("known_hosts"))
    hosts = [fleet_host(i) for i in range(1, count + 1)]
    jobs = {f"workspace-{h.name}": {
        "description": f"Workspace backup of {h.name}: restic snapshots of /flux, daily 5:00 AM",
        "host": h.name, "kind": "restic", "source": "/flux",
        "repository": f"s3:{ENDPOINT}/{RESTIC_BUCKET}/{h.repository}", "excludes": ["scratch/tmp"],
        "schedule": {"timer": "flux-backup.timer", "service": "flux-backup.service",
                     "on_calendar": "*-*-* 05:00:00"},
        "marker": {"path": f"{MARKERS}/restic_cloud.json",
                   "failure_path": f"{MARKERS}/last_failure.json"},
        "rpo": "26h", "rto": "15m",
        "samples": {"file": "active/project-beta/notebooks/naïve café – notes.txt",
                    "directory": "active/project-alpha/src"}} for h in hosts}
    return {"name": "lab-fleet",
            "description": f"Scale lab: {count} workspace hosts, one restic job each",
            "hosts": {h.name: {"transport": f"ssh://{h.name}", "ssh_config": ssh_config,
                               "ssh_known_hosts": known_hosts, "credentials_env": ENV_FILE}
                      for h in hosts},
            "jobs": jobs}


class LabError(RuntimeError):
    """The lab could not be brought to the asked state; the message says what and where."""


def put_file(container: Container, path: str, content: str, mode: int) -> None:
    """Write one file into a container, creating missing parent directories (no shell, no
    secret on any command line). Works on a created container before it starts."""
    data = content.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(path.lstrip("/"))
        info.size, info.mode, info.mtime = len(data), mode, int(time.time())
        archive.addfile(info, io.BytesIO(data))
    container.put_archive("/", buffer.getvalue())


def store_client(identity: Identity) -> Any:
    """A boto3 S3 client on the lab's object store (published on 127.0.0.1) as ``identity``."""
    return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{S3_PORT}", region_name="us-east-1",
                        aws_access_key_id=identity.access_key, aws_secret_access_key=identity.secret_key)


def sh(container: Container, script: str, timeout: int = 120) -> str:
    """Run a shell script in a lab container with a timeout; raise naming host and command."""
    result = container.exec_run(["timeout", "-k", "5", str(timeout), "sh", "-c", script])
    output = str(result.output.decode(errors="replace"))
    if result.exit_code != 0:
        raise LabError(f"{container.name}: `{script}` exited {result.exit_code}: "
                       f"{output.strip()[-800:]}")
    return output


class Lab:
    def __init__(self, log: Callable[[str], None] = print) -> None:
        self.log = log
        try:
            self.client = docker.from_env(timeout=120)
            self.client.ping()
        except docker.errors.DockerException as exc:
            raise LabError(f"no Docker engine answers ({exc}); run `make lab-up`, which starts "
                           "one") from exc

    def container(self, name: str) -> Container | None:
        try:
            return self.client.containers.get(PREFIX + name)
        except docker.errors.NotFound:
            return None

    def _network(self) -> None:
        if not self.client.networks.list(names=[NETWORK]):
            self.client.networks.create(NETWORK, driver="bridge", labels={"drill-lab": "1"})

    def _ensure(self, name: str, image: str, fingerprint: str, **run: Any) -> tuple[Container, bool]:
        """Start the container, recreating it when its image or credentials changed."""
        labels = {"drill-lab": "1", "drill-lab.image": image, "drill-lab.state": fingerprint}
        existing = self.container(name)
        if existing is not None and all(existing.labels.get(k) == v for k, v in labels.items()):
            if existing.status != "running":
                self.log(f"starting stopped {existing.name}")
                existing.start()
            return existing, False
        if existing is not None:
            self.log(f"recreating {existing.name}: image or credentials changed")
            existing.remove(force=True)
        endpoint = EndpointConfig(self.client.api._version, aliases=[name])
        created = self.client.containers.run(
            image, name=PREFIX + name, hostname=name, detach=True, labels=labels,
            network=NETWORK, networking_config={NETWORK: endpoint}, **run)
        return created, True

    def fleet_names(self) -> list[str]:
        """Names of the scale lab's workspace hosts that exist (running or not)."""
        found = self.client.containers.list(all=True, filters={"label": "drill-lab"})
        names = (c.name.removeprefix(PREFIX) for c in found)
        return sorted(n for n in names if FLEET_NAME.fullmatch(n))

    def up(self, fleet: int | None = None) -> None:
        """Bring the lab up; ``fleet`` workspace hosts besides (None: keep as many as exist)."""
        count = len(self.fleet_names()) if fleet is None else fleet
        if not 0 <= count <= FLEET_MAX:
            raise LabError(f"HOSTS={count}: expected a number of workspace hosts from 0 to {FLEET_MAX}")
        state = LabState.load_or_create()
        images = build_all(self.client, self.log)
        self._network()
        self._objectstore(state, images["objectstore"])
        self._bucket_controls(state)
        workspaces = tuple(fleet_host(i) for i in range(1, count + 1))
        self._inotify_room(len(HOSTS) + count)
        for name in self.fleet_names()[count:]:
            self.log(f"removing workspace host {name} (HOSTS={count})")
            self.client.containers.get(PREFIX + name).remove(force=True)
        with ThreadPoolExecutor(max_workers=4) as pool:  # booting and seeding mostly wait
            list(pool.map(lambda h: self._host(h, state, images[h.image]), HOSTS))
            list(pool.map(lambda h: self._host(h, state, images[h.image]), workspaces))
        hosts = HOSTS + workspaces
        state.write_known_hosts({h.name: (h.ssh_port, self.host_keys(h.name)) for h in hosts})
        state.write_ssh_config({h.name: h.ssh_port for h in hosts})
        fleet_note = ""
        if workspaces:
            path = state.root / "fleet.yml"
            path.write_text(yaml.safe_dump(fleet_inventory(count, str(state.ssh_config)),
                                           allow_unicode=True, sort_keys=False))
            fleet_note = f"; {count} workspace hosts ws01-ws{count:02d}, inventory {path}"
        self.log("lab up: " + ", ".join(f"{h.name} (ssh 127.0.0.1:{h.ssh_port})" for h in HOSTS)
                 + f", objectstore (s3 127.0.0.1:{S3_PORT}); ssh config {state.ssh_config}"
                 + fleet_note)

    def host_keys(self, name: str) -> list[str]:
        """The public host keys of lab host ``name``, as its sshd serves them (``docker exec``:
        read on the host itself, not over the network that they are to authenticate)."""
        container = self.container(name)
        if container is None:
            raise LabError(f"lab host {name} does not exist: `drill-lab up` makes it")
        found = sh(container, "cat /etc/ssh/ssh_host_*_key.pub", timeout=30)
        return [line for line in found.splitlines() if line.strip()]

    def _inotify_room(self, hosts: int, limit: Path = INOTIFY_INSTANCES) -> None:
        """Each lab host's systemd takes inotify instances (about five) from one per-user limit of
        the machine, 128 by default: about 25 hosts. Beyond that a host's systemd exits at boot
        (code 255, no log), so the limit is raised for a big fleet, or the error says how."""
        needed = 128 + 8 * hosts
        current = int(limit.read_text())
        if current >= needed:
            return
        try:
            limit.write_text(f"{needed}\n")
        except OSError:
            raise LabError(f"{hosts} lab hosts need fs.inotify.max_user_instances >= {needed} (it is "
                           f"{current}): `sudo sysctl fs.inotify.max_user_instances={needed}`") from None
        self.log(f"raised fs.inotify.max_user_instances from {current} to {needed} for {hosts} hosts")

    def _objectstore(self, state: LabState, image: str) -> None:
        current = self.container("objectstore")
        if current is not None and current.labels.get("drill-lab.state") != state.fingerprint:
            self.log("credentials changed: wiping the object store")
            current.remove(force=True)
            for volume in self.client.volumes.list(filters={"name": STORE_VOLUME}):
                volume.remove(force=True)
        store = self.container("objectstore")
        if store is None or store.labels.get("drill-lab.image") != image:
            if store is not None:
                store.remove(force=True)
            store = self.client.containers.create(
                image, name=PREFIX + "objectstore", hostname="objectstore",
                labels={"drill-lab": "1", "drill-lab.image": image,
                        "drill-lab.state": state.fingerprint},
                network=NETWORK,
                networking_config={NETWORK: EndpointConfig(self.client.api._version,
                                                           aliases=["objectstore"])},
                ports={"8333/tcp": ("127.0.0.1", S3_PORT)},
                volumes={STORE_VOLUME: {"bind": "/data", "mode": "rw"}})
            put_file(store, "/etc/seaweedfs/s3.json", state.s3_config(), 0o600)
        elif _file_of(store, "/etc/seaweedfs/s3.json") != state.s3_config():
            self.log("object store identities changed: rewriting them and restarting it")
            put_file(store, "/etc/seaweedfs/s3.json", state.s3_config(), 0o600)
            store.restart(timeout=30)
        if store.status != "running":
            store.start()
        self._wait(lambda: _http_ready(store), "objectstore S3 API on :8333", 90)

    def _bucket_controls(self, state: LabState) -> None:
        """The buckets' own controls, as the lab's runbooks promise them (checked by
        bucket.feature through the S3 API): versioning everywhere; for restic's bucket, made
        with object lock before restic first writes to it, a default retention (GOVERNANCE,
        7 days) and default encryption; lifecycle rules that keep noncurrent versions 400 days.
        Set on every bring-up: a fault test's change never outlives the next one."""
        s3 = store_client(state.identities["admin"])
        existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        for name, controls in BUCKET_CONTROLS.items():
            if name not in existing:
                s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=bool(controls.get("lock")))
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
            if controls.get("lock"):
                s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration={
                    "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": controls["lock"]}})
            s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [
                {"ID": "noncurrent-400d", "Status": "Enabled", "Filter": {"Prefix": ""},
                 "NoncurrentVersionExpiration": {"NoncurrentDays": 400}}]})
            if controls.get("encryption"):
                s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [
                    {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
            try:
                s3.delete_bucket_policy(Bucket=name)
            except botocore.exceptions.ClientError as exc:  # none to delete: as it should be
                if exc.response.get("Error", {}).get("Code") != "NoSuchBucketPolicy":
                    raise

    def _host(self, host: LabHost, state: LabState, image: str) -> None:
        container, fresh = self._ensure(host.name, image, state.fingerprint,
                                        ports={"22/tcp": ("127.0.0.1", host.ssh_port)},
                                        **SYSTEMD_RUN)
        self._wait(lambda: _booted(container), f"systemd and sshd on {host.name}", 120)
        public_key = state.private_key.with_suffix(".pub").read_text()
        put_file(container, "/root/.ssh/authorized_keys", public_key, 0o600)
        if host.identity:  # a host without object-store credentials gets no env file
            put_file(container, ENV_FILE, host.env_file(state), 0o600)
        seed = (f"{host.seed_profile} {shlex.quote(host.seed_root)} {host.seed_args}"
                if host.seed_profile else "")
        seeded = sh(container, f"/usr/local/lib/drill-lab/{host.seed_script} {seed}",
                    timeout=600).strip()
        if fresh or not seeded.startswith("seeded 0 "):
            self.log(f"{seeded} on {host.name}")
            # Markers carry whole seconds: let the seed be strictly older than the next run.
            time.sleep(1.5)
        if host.identity == "restic":
            sh(container, f"{WITH_CREDENTIALS}restic cat config >/dev/null 2>&1 || restic init >/dev/null",
               timeout=120)
            self._cheap_key(container, host, state)
        if host.prepare:
            sh(container, host.prepare, timeout=180)
        for command, marker in host.cron:  # the first backup, before any backdated history
            if not sh(container, f"find {marker} -mmin -720 2>/dev/null || true").strip():
                self.log(f"running {command} on {host.name} (marker missing or stale)")
                sh(container, command, timeout=1200)
        if host.history:
            self._history(container, host)
        if host.backdate:
            self._backdated_sets(container, host)
        if host.borg:
            self._borg(container, host)
        if host.borgmatic:
            self._borgmatic(container, host, state)
        for service, marker in host.jobs:
            sh(container, f"systemctl enable --now {service}.timer >/dev/null 2>&1")
            stale = sh(container, f"find {marker} -mmin -720 2>/dev/null || true")
            if not stale.strip():
                self.log(f"running {service}.service on {host.name} (marker missing or stale)")
                sh(container, f"systemctl start {service}.service", timeout=1200)
            else:  # a persistent timer may be catching up after a restart: let it finish
                sh(container, f"while [ \"$(systemctl show -p ActiveState --value "
                              f"{service}.service)\" = activating ]; do sleep 1; done",
                   timeout=1200)

    def _cheap_key(self, container: Container, host: LabHost, state: LabState) -> None:
        """The repository's key wrapped again at scrypt N=1024 (lab/restic_keys.py), so that
        the many restic commands of the suite's own tests do not each spend 0.13 CPU-seconds
        opening it. Once: a key already that cheap is left as it is."""
        restic = f"{WITH_CREDENTIALS}restic --no-lock"
        s3 = store_client(state.identities["restic"])
        for old in sh(container, f"{restic} list keys").split():
            doc = sh(container, f"{restic} cat key {old}")
            try:
                cost = json.loads(doc)["N"]
            except (ValueError, KeyError):  # answered empty once (cause unknown): left as it is
                continue
            if cost <= LAB_N:
                continue
            cheap = rewrapped(doc.encode(), state.restic_password)
            prefix = f"{host.repository}/keys"
            s3.put_object(Bucket=RESTIC_BUCKET, Key=f"{prefix}/{key_id(cheap)}", Body=cheap)
            s3.delete_object(Bucket=RESTIC_BUCKET, Key=f"{prefix}/{old}")
            sh(container, f"{restic} cat config >/dev/null")  # the new key opens it
            self.log(f"restic key of {host.repository} wrapped at scrypt N={LAB_N} on {host.name}")

    def _history(self, container: Container, host: LabHost) -> None:
        """Backdated snapshots (restic's ``--time``, never edited repository files) for each
        day, week and month the policy keeps that has none yet, then the estate's own forget
        (as its backup job runs it after each backup)."""
        scope = f"--host {host.name} --path {host.seed_root}"
        listed = sh(container, f"{WITH_CREDENTIALS}restic snapshots --json --no-lock {scope} 2>/dev/null")
        listing = json.loads(listed or "[]")
        times = [datetime.fromisoformat(s["time"]) for s in listing]
        wanted = missing_history(times)
        if wanted:
            self.log(f"backdating {len(wanted)} snapshot(s) of {host.seed_root} on {host.name} "
                     "(restic --time) for the retention policy")
        for moment in wanted:
            sh(container, f"{WITH_CREDENTIALS}restic backup {host.seed_root} --host {host.name} --quiet "
                          f"--exclude-file /etc/miket/flux-backup.excludes "
                          f"--time '{moment:%Y-%m-%d %H:%M:%S}'", timeout=600)
        sh(container, f"{WITH_CREDENTIALS}restic forget $RESTIC_FORGET {scope} >/dev/null", timeout=300)

    def _borg(self, container: Container, host: LabHost) -> None:
        """The local borg repository: made once (repokey, the host's passphrase), then backdated
        archives by the estate's own job (``borg-job --timestamp``, borg's own option) for each
        day, week and month the policy keeps that has none yet; the job prunes after each."""
        env = f"{WITH_CREDENTIALS}export BORG_REPO={BORG_REPO}; "
        sh(container, f"{env}[ -d {BORG_REPO} ] || {{ mkdir -p /srv/borg && "
                      "borg init --encryption=repokey >/dev/null; }", timeout=120)
        listed = json.loads(sh(container, f"{env}TZ=UTC borg list --json --bypass-lock") or "{}")
        times = [datetime.fromisoformat(a["start"]).replace(tzinfo=UTC) for a in listed.get("archives", [])]
        wanted = missing_history(times)
        if wanted:
            self.log(f"backdating {len(wanted)} borg archive(s) of /flux/active on {host.name}")
        for moment in wanted:
            sh(container, f"{env}BORG_SOURCE=/flux/active /usr/local/sbin/borg-job --timestamp "
                          f"{moment:%Y-%m-%dT%H:%M:%S}", timeout=600)
        sh(container, "systemctl enable --now flux-borg.timer >/dev/null 2>&1")
        newest = max(times, default=None)
        if newest is None or datetime.now(UTC) - newest > timedelta(hours=12):
            self.log(f"running flux-borg.service on {host.name} (no archive within 12h)")
            sh(container, "systemctl start flux-borg.service", timeout=1200)

    def _borgmatic(self, container: Container, host: LabHost, state: LabState) -> None:
        """Debian's borgmatic as its user runs it: the passphrase in a root-only file that the
        config's ``encryption_passcommand`` reads; on the first up, the repository (``borgmatic
        repo-create``) and 40 nights of archives by borgmatic itself (borg's ``--timestamp``
        through the config's own ``extra_borg_options``), then borgmatic's prune; afterwards the
        stock ``borgmatic.service`` whenever the newest archive of either configuration (the
        second: ``_borgmatic_credential``) is older than 12 hours."""
        put_file(container, "/etc/borgmatic/passphrase", f"{state.restic_password}\n", 0o600)
        self._borgmatic_credential(container, state)
        borgmatic = f"borgmatic -c {BORGMATIC_CONFIG}"
        if not sh(container, f"[ -d {BORGMATIC_REPO} ] && echo made || true").strip():
            sh(container, f"mkdir -p /srv/borg && {borgmatic} repo-create --encryption repokey "
                          ">/dev/null", timeout=120)
            today = datetime.now(UTC).replace(hour=4, minute=0, second=0, microsecond=0)
            nights = [today - timedelta(days=d) for d in range(BORGMATIC_NIGHTS, 0, -1)]
            self.log(f"backdating {len(nights)} borgmatic archive(s) of /srv/data on {host.name}")
            for night in nights:
                stamp = f"{night:%Y-%m-%dT%H:%M:%S}"
                try:
                    sh(container, f"{borgmatic} create --override "
                                  f"'archive_name_format={{hostname}}-{stamp}' --override "
                                  f"'extra_borg_options.create=--timestamp {stamp}'", timeout=600)
                except LabError as made:  # a set-up cut short (a stopped host) made it already
                    if "already exists" not in str(made):
                        raise
            sh(container, f"{borgmatic} prune", timeout=300)
        configs = ((BORGMATIC_CONFIG, ""), (CREDENTIAL_CONFIG, WITH_UNIT_CREDENTIAL))
        stale = [config for config, prefix in configs
                 if _stale(sh(container, f"{prefix}borgmatic -c {config} list --json 2>/dev/null"))]
        if stale:
            self.log(f"running borgmatic.service on {host.name} (no archive within 12h; the stock "
                     "unit waits a minute first)")
            sh(container, "systemctl start borgmatic.service", timeout=1200)

    def _borgmatic_credential(self, container: Container, state: LabState) -> None:
        """saito's second configuration (``CREDENTIAL_CONFIG``), its passphrase only in the
        systemd credential ``borgmatic_pw``: encrypted with the host's key (``systemd-creds
        encrypt --with-key=host``) into ``/etc/credstore.encrypted``, root's 0600; a drop-in of the
        stock ``borgmatic.service`` loads it (``LoadCredentialEncrypted=``); its repository made
        once by borgmatic under a transient unit that loads the same credential. ``/run`` is made
        a shared mount first: systemd marks ``/`` shared when it boots a machine, not in a
        container, and there a unit's ``$CREDENTIALS_DIRECTORY`` stays empty without it. The
        passphrase is derived from the lab's secrets and never on a command line."""
        passphrase = hashlib.sha256(f"{CREDENTIAL_NAME}:{state.restic_password}".encode()).hexdigest()[:32]
        sh(container, "mount --make-shared /run")
        if _file_of(container, CREDENTIAL_DROP_IN) != CREDENTIAL_UNIT_LINES:
            put_file(container, CREDENTIAL_DROP_IN, CREDENTIAL_UNIT_LINES, 0o644)
            sh(container, "systemctl daemon-reload")
        put_file(container, CREDENTIAL_CONFIG, CREDENTIAL_CONFIG_TEXT, 0o600)
        digest = hashlib.sha256(passphrase.encode()).hexdigest()
        held = sh(container, f"systemd-creds decrypt --name={CREDENTIAL_NAME} {CREDENTIAL_FILE} - "
                             "2>/dev/null | sha256sum || true").split()
        if held[:1] != [digest]:
            plain = f"/root/{CREDENTIAL_NAME}.plain"  # docker cannot copy into a tmpfs (/run)
            put_file(container, plain, passphrase, 0o600)
            sh(container, f"umask 077; mkdir -p {CREDENTIAL_FILE.rsplit('/', 1)[0]} && systemd-creds encrypt "
                          f"--with-key=host --name={CREDENTIAL_NAME} {plain} {CREDENTIAL_FILE} 2>/dev/null; "
                          f"status=$?; rm -f {plain}; chmod 0600 {CREDENTIAL_FILE}; exit $status")
        if not sh(container, f"[ -d {CREDENTIAL_REPO} ] && echo made || true").strip():
            sh(container, f"{WITH_UNIT_CREDENTIAL}borgmatic -c {CREDENTIAL_CONFIG} repo-create "
                          "--encryption repokey >/dev/null", timeout=120)

    def _backdated_sets(self, container: Container, host: LabHost) -> None:
        """The past a host that had always run would hold, made by the estate's own job with a
        faked clock (``--backfill``); the job skips the days it already has."""
        if host.backdate_times is None:
            return
        times = host.backdate_times(datetime.now(UTC))
        made = sh(container, f"{host.backdate} --backfill "
                             + " ".join(t.isoformat() for t in times), timeout=1200)
        if made.strip():
            self.log(f"backdated on {host.name} (faked clock): {len(made.splitlines())} backup(s)")

    def _wait(self, ready: Callable[[], bool], what: str, seconds: int) -> None:
        deadline = time.monotonic() + seconds
        while not ready():
            if time.monotonic() > deadline:
                raise LabError(f"{what} not ready after {seconds}s")
            time.sleep(1)

    def status(self) -> list[str]:
        lines = []
        for name in ("objectstore", *(h.name for h in HOSTS), *self.fleet_names()):
            found = self.container(name)
            lines.append(f"{name:12} {found.status if found else 'absent'}")
        return lines

    def down(self) -> None:
        for name in (*(h.name for h in HOSTS), *self.fleet_names(), "objectstore"):
            found = self.container(name)
            if found is not None and found.status == "running":
                self.log(f"stopping {found.name}")
                found.stop(timeout=20)

    def reset(self) -> None:
        """Remove every lab container and the object store's data; the next ``up`` starts anew."""
        for name in (*(h.name for h in HOSTS), *self.fleet_names(), "objectstore"):
            found = self.container(name)
            if found is not None:
                self.log(f"removing {found.name}")
                found.remove(force=True)
        for volume in self.client.volumes.list(filters={"name": STORE_VOLUME}):
            volume.remove(force=True)


def _file_of(container: Container, path: str) -> str | None:
    """A file's text inside a container (running or not), None when it cannot be read."""
    try:
        stream, _ = container.get_archive(path)
    except docker.errors.APIError:
        return None
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
        member = archive.extractfile(archive.getmembers()[0])
        return member.read().decode() if member is not None else None


def _stale(listed: str) -> bool:
    """Whether ``borgmatic list --json`` lists no archive made within the last 12 hours."""
    times = [datetime.fromisoformat(a["start"]).replace(tzinfo=UTC)
             for repo in json.loads(listed or "[]") for a in repo.get("archives", [])]
    newest = max(times, default=None)
    return newest is None or datetime.now(UTC) - newest > timedelta(hours=12)


def _booted(container: Container) -> bool:
    state = container.exec_run(["systemctl", "is-system-running"]).output.decode().strip()
    if state not in {"running", "degraded"}:
        return False
    return bool(container.exec_run(["systemctl", "is-active", "ssh.service"]).exit_code == 0)


def _http_ready(container: Container) -> bool:
    container.reload()
    if container.status != "running":
        raise LabError(f"{container.name} exited: {container.logs(tail=20).decode(errors='replace')}")
    probe = container.exec_run(["curl", "-s", "-o", "/dev/null", "-m", "2", "-w", "%{http_code}",
                                "http://127.0.0.1:8333/"])
    return bool(probe.output.decode().strip() in {"403", "200"})
