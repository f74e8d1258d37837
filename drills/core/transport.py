"""Remote execution over pytest-testinfra backends, with a timeout on every command.

Every command runs under ``timeout`` on the host, so a hung tool cannot hang the drill; an SSH
failure (exit 255) becomes ``HostUnreachable`` naming the host. Credentials are *referenced*: the
host sources its own env file, so no secret value ever reaches the runner, a log or argv. Or they
come from the runner's environment (``credentials_from_env``): then they travel on the command's
stdin, never in argv, and are masked in everything a command prints back.

    >>> remote = Remote(inventory.hosts["motoko"], timeout=30)          # doctest: +SKIP
    >>> remote.run("restic version").text                               # doctest: +SKIP
    'restic 0.14.0 compiled with go1.19.8 on linux/amd64\\n'
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import testinfra
import testinfra.host
from testinfra.backend import parse_hostspec
from testinfra.backend.base import CommandResult
from testinfra.backend.ssh import SshBackend

from backup_drills.core.privilege import NotExact, exact_command
from backup_drills.core.secrets import Secret, mask_bytes, register_all
from backup_drills.core.unit_credentials import under_unit_credentials, unit_credentials
from backup_drills.inventory.credentials import password_exports
from backup_drills.inventory.schema import Host, Job
from backup_drills.outcomes import DrillCouldNotRun as DrillCouldNotRun  # its old import path, used widely

if TYPE_CHECKING:
    import paramiko

    from backup_drills.core.run import DrillRun

TIMED_OUT = 124
CONNECT_TIMEOUT = 5  # seconds to connect; a silent host also meets ServerAlive (5 s x 3)
_KILLED = 137
_NO_CREDENTIALS = 97  # the credentials env file is not readable by the drilling user
# the known_hosts files of the drilling user, where the inventory declares no host key (the
# system's /etc/ssh/ssh_known_hosts stays ssh's GlobalKnownHostsFile; paramiko reads it too)
USER_KNOWN_HOSTS = ("~/.ssh/known_hosts", "~/.ssh/known_hosts2")
SYSTEM_KNOWN_HOSTS = ("/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2")
KEYSCAN_TIMEOUT = 5  # seconds ssh-keyscan may spend reading an untrusted key's fingerprint


class DownBackends:
    """The backends (a repository, a bucket) whose up-front probe failed, by host: commands of
    that host that name one could not run. One per run (``DrillRun.down``).

    >>> down = DownBackends()
    >>> down.mark("motoko", "/srv/restic", "restic repository /srv/restic is locked")
    >>> down.reason("motoko", "/srv/restic"), down.reason("akira", "/srv/restic")
    ('restic repository /srv/restic is locked', None)
    """

    def __init__(self) -> None:
        self._why: dict[str, dict[str, str]] = {}  # host -> backend address -> why not drilled
        self._lock = threading.Lock()

    def mark(self, host: str, address: str, reason: str) -> None:
        """From now on, commands of ``host`` that name ``address`` could not run, for ``reason``
        (the up-front probe's finding)."""
        with self._lock:
            self._why.setdefault(host, {})[address] = reason

    def reason(self, host: str, address: str) -> str | None:
        """Why ``address`` is not drilled from ``host``, or None when its probe passed."""
        with self._lock:
            return self._why.get(host, {}).get(address)

    def of(self, host: str) -> dict[str, str]:
        """Every backend down from ``host``: {address: why}."""
        with self._lock:
            return dict(self._why.get(host, {}))


def backend_down(remote: Remote, address: str, reason: str) -> None:
    """From now on, commands of ``remote``'s host that name ``address`` (a repository, a
    bucket) could not run in its run, for ``reason`` (the up-front probe's finding)."""
    remote.drill_run.down.mark(remote.name, address, reason)


def down_reason(remote: Remote, address: str) -> str | None:
    """Why ``address`` is not drilled from ``remote``'s host in its run, or None."""
    return remote.drill_run.down.reason(remote.name, address)


T = TypeVar("T")


def declared(job: Any, value: T | None, what: str) -> T:
    """``value`` when the job declares it, else COULD NOT RUN naming what the job lacks:
    ``declared(job, job.cron, "cron entry")``.

    >>> declared(type("J", (), {"name": "j"})(), None, "metrics")
    Traceback (most recent call last):
    backup_drills.outcomes.DrillCouldNotRun: job j declares no metrics
    """
    if value is None:
        raise DrillCouldNotRun(f"job {job.name} declares no {what}")
    return value


class HostUnreachable(DrillCouldNotRun):
    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"host {host} unreachable: {reason}")
        self.host = host


class CommandTimedOut(DrillCouldNotRun):
    def __init__(self, host: str, command: str, seconds: float) -> None:
        super().__init__(f"host {host}: command timed out after {seconds:.0f}s: {command}")


class CredentialScript(str):
    """A script that loads the host's credentials first (from ``Remote.with_credentials``):
    ``Remote.run`` hands it the runner-side values on stdin. ``words``: the program it runs
    (what a ``sudo: exact`` host escalates, sudoers loading the credentials)."""

    words: tuple[str, ...] = ()
    reads: str = ""  # the files it loads, as a refusal names them: "its credentials file /etc/x"


MASK = "********"


@dataclass(frozen=True)
class Result:
    """What one remote command did. ``stdout`` is raw bytes (file names need not be UTF-8)."""

    host: str
    command: str
    exit_status: int
    stdout: bytes
    stderr: str
    seconds: float

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", errors="surrogateescape")

    @property
    def ok(self) -> bool:
        return self.exit_status == 0

    def tail(self, lines: int = 12) -> str:
        """The last lines of stderr (then stdout), for failure messages."""
        chosen = self.stderr.strip() or self.text.strip()
        return "\n".join(chosen.splitlines()[-lines:])


def argv(*words: str) -> str:
    """Quote words into one shell command: ``argv("restic", "-r", repo, "snapshots")``."""
    return shlex.join(words)


SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"  # drills/scripts: linted by shellcheck


def script(name: str, *args: str) -> str:
    """One of the package's shell programs (``drills/scripts/<name>.sh``) as a command that runs
    it with ``args``, every one quoted: values reach it as ``$1``, ``$2``..., never as shell text.

    >>> script("process-group-stop", "/var/tmp/x y/group").endswith("process-group-stop '/var/tmp/x y/group'")
    True
    """
    text = (SCRIPTS / f"{name}.sh").read_text(encoding="utf-8")
    return argv("sh", "-c", text, name, *args)


LOG = logging.getLogger("backup_drills.core.transport")
PROGRESS_EVERY = 30  # seconds between "still running" lines of a long remote command


def _shown(script: str) -> str:
    """A command as a log line shows it: its program, not a credentials preamble or a page of
    shell (``restic -r s3:.../flux check``)."""
    command = script.rsplit("exec ", 1)[-1] if isinstance(script, CredentialScript) else script
    line = " ".join(command.split())
    return line if len(line) <= 160 else f"{line[:157]}..."


def _said(progress: Callable[[], str] | None) -> str:
    """What a progress reader says, as a line's tail: ``" (1.2 GiB of 3.4 GiB written)"``; a
    reader that fails says nothing (the heartbeat itself must not fail the drill)."""
    if progress is None:
        return ""
    try:
        return f" ({progress()})"
    except Exception as exc:  # any failure of a progress reading is only logged
        LOG.debug("progress reading failed: %s", exc)
        return ""


@contextmanager
def _heartbeat(host: str, script: str, limit: int, progress: Callable[[], str] | None = None
               ) -> Iterator[None]:
    """While a remote command runs, log a progress line every PROGRESS_EVERY seconds, with what
    ``progress`` reads of it (bytes a restore has written...)."""
    done = threading.Event()

    def beat() -> None:
        started = time.monotonic()
        while not done.wait(PROGRESS_EVERY):
            said = _said(progress)
            LOG.info("host %s: still running after %.0fs of its %ds limit%s: %s", host,
                     time.monotonic() - started, limit, said, _shown(script))

    if limit <= PROGRESS_EVERY:
        yield
        return
    thread = threading.Thread(target=beat, name=f"heartbeat-{host}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


_PRIVATE: dict[tuple[str, int], Path] = {}  # (kind, pid) -> that process's private folder
_PRIVATE_LOCK = threading.Lock()


def _short_tmp() -> str:
    """The temporary folder, if short enough for an ssh control socket inside a folder of ours
    (a unix socket path has 108 bytes, and ssh adds 17 while it binds); else ``/tmp``."""
    base = tempfile.gettempdir()
    return base if len(base) <= 20 else "/tmp"


def _remove_own(folder: Path, pid: int) -> None:
    if os.getpid() == pid:  # a fork inherits the exit handler, not the folder
        shutil.rmtree(folder, ignore_errors=True)


def private_folder(kind: str) -> Path:
    """This process's own folder for ``kind`` (``keys``, ``ssh``): made by ``mkdtemp`` (mode
    0700, a name nobody can guess or take first), removed when the process exits. A forked
    drill makes its own: it never shares pinned keys or SSH masters with its parent.

    >>> oct(private_folder("doc").stat().st_mode & 0o777)
    '0o700'
    """
    key = (kind, os.getpid())
    with _PRIVATE_LOCK:
        folder = _PRIVATE.get(key)
        if folder is None:
            folder = Path(tempfile.mkdtemp(prefix=f"bd-{kind}-", dir=_short_tmp()))
            _PRIVATE[key] = folder
            atexit.register(_remove_own, folder, key[1])
    return folder


@dataclass(frozen=True)
class HostTrust:
    """The host keys a host may present: those ``files`` list for its name, or (``pinned``) one
    key whatever its name, address or port (filed under ``alias``, ssh's HostKeyAlias).
    ``declared`` says where the trust comes from, for the message that refuses a key."""

    files: tuple[str, ...]
    declared: str
    pinned: str | None = None
    alias: str | None = None


def host_trust(host: Host) -> HostTrust:
    """Where ``host``'s keys are trusted from: its pinned ``ssh_host_key`` (written to a
    runner-private known_hosts file under an alias), its ``ssh_known_hosts`` file, or else the
    drilling user's own known_hosts files. Never "any key".

    >>> host_trust(Host(name="db1", transport="ssh://db1", ssh_known_hosts="/etc/drill/known_hosts"))
    HostTrust(files=('/etc/drill/known_hosts',), declared='ssh_known_hosts', pinned=None, alias=None)
    """
    if host.ssh_host_key:
        alias = f"backup-drills-{hashlib.sha256(host.name.encode()).hexdigest()[:16]}"
        pinned = private_folder("keys") / alias
        line = f"{alias} {host.ssh_host_key}\n"
        if not pinned.exists() or pinned.read_text() != line:
            partial = pinned.with_suffix(f".{threading.get_ident()}")
            partial.write_text(line)
            partial.replace(pinned)  # atomic: a thread beside it never reads half a key
        return HostTrust((str(pinned),), "ssh_host_key", host.ssh_host_key, alias)
    if host.ssh_known_hosts:
        return HostTrust((host.ssh_known_hosts,), "ssh_known_hosts")
    return HostTrust(tuple(os.path.expanduser(f) for f in USER_KNOWN_HOSTS), "the user's known_hosts")


def _ssh_file_list(files: Sequence[str]) -> str:
    """Files as ssh's UserKnownHostsFile reads them: ``%`` doubled, a name with a space quoted."""
    words = [path.replace("%", "%%") for path in files]
    return " ".join(f'"{word}"' if any(c.isspace() for c in word) else word for word in words)


def host_key_options(host: Host) -> str:
    """ssh options that check the host's key strictly against its ``host_trust``: they come
    first on ssh's command line, so no ssh_config can loosen them (``accept-new``, ``no``,
    ``/dev/null``). A jump host is checked the same way (see ``Remote``).

    >>> host_key_options(Host(name="db1", transport="ssh://db1", ssh_known_hosts="/etc/drill/known_hosts"))
    ' -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/etc/drill/known_hosts'
    """
    trust = host_trust(host)
    words = ["-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={_ssh_file_list(trust.files)}"]
    if trust.alias:
        words += ["-o", f"HostKeyAlias={trust.alias}"]
    return f" {argv(*words)}"


def jump_trust(host: Host) -> HostTrust:
    """Where the jump host's key is trusted from: the host's known_hosts (a pinned key is the
    host's own: the jump is checked against the user's files)."""
    if host.ssh_host_key:
        return HostTrust(tuple(os.path.expanduser(f) for f in USER_KNOWN_HOSTS), "the user's known_hosts")
    return host_trust(host)


def _jump_options(host: Host, jump: str) -> str:
    """``ProxyJump`` hands the jump's own ssh nothing but ``-F``: its key would be checked as the
    user's ssh_config says. The same hop as a ProxyCommand whose ssh checks it strictly, against
    ``jump_trust``."""
    files = jump_trust(host).files
    words = ["ssh", *(["-F", host.ssh_config] if host.ssh_config else []), "-o", "BatchMode=yes",
             "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={_ssh_file_list(files)}",
             "-o", "ControlMaster=no", "-o", "ControlPath=none", "-o", f"ConnectTimeout={CONNECT_TIMEOUT}",
             "-o", "LogLevel=ERROR", "-W", "[%h]:%p", "--", jump.replace("%", "%%")]
    return f" -o {shlex.quote('ProxyCommand=' + argv(*words))}"


_KEY_NAME = re.compile(r"No (\S+) host key is known for (\S+) and|Host key for (\S+) has changed")
_OFFERED = re.compile(r"The fingerprint for the (\S+) key sent by the remote host is\s+"
                      r"(SHA256:[A-Za-z0-9+/]+)")


def _keyscan_words(name: str, kind: str | None = None) -> list[str]:
    """ssh-keyscan's arguments for a known_hosts name: ``[127.0.0.1]:2222`` is port 2222."""
    bracketed = re.fullmatch(r"\[(.+)\]:(\d+)", name)
    where = ["-p", bracketed.group(2), bracketed.group(1)] if bracketed else [name]
    return ["ssh-keyscan", *(["-t", kind.lower()] if kind else []), *where]


def scanned_fingerprint(name: str, kind: str | None) -> str | None:
    """The SHA256 fingerprint of the ``kind`` key that ``name`` offers now, read with ssh-keyscan
    and ssh-keygen on the runner (bounded); None when it cannot be read."""
    try:
        words = _keyscan_words(name, kind)
        scan = subprocess.run([words[0], "-T", str(KEYSCAN_TIMEOUT), *words[1:]], capture_output=True,
                              check=False, timeout=KEYSCAN_TIMEOUT + 10)
        listed = subprocess.run(["ssh-keygen", "-l", "-f", "-"], input=scan.stdout, capture_output=True,
                                check=False, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r"SHA256:[A-Za-z0-9+/]+", listed.stdout.decode(errors="replace"))
    return found.group(0) if found else None


def untrusted_key(host: Host, trust: HostTrust, name: str, kind: str, fingerprint: str | None,
                  changed: bool, jump: str | None = None) -> str:
    """Why a host key was refused, with its fingerprint and the one-line fix (for ssh:// and
    paramiko:// alike): ``Host key verification failed: [127.0.0.1]:2222 offered an unknown
    ED25519 key SHA256:...; verify the fingerprint, then: ssh-keyscan ... >> ~/.ssh/known_hosts ...``.
    ``jump``: the key refused is the jump host's (filed as ``name``), trusted by ``jump_trust``."""
    kind = kind.upper()
    offered = f"{kind} key {fingerprint or '(its fingerprint could not be read from the runner)'}"
    if trust.pinned:
        return (f"Host key verification failed: the host offered {offered}, not the key its "
                f"ssh_host_key pins; verify the fingerprint on the host (ssh-keygen -lf "
                f"/etc/ssh/ssh_host_{kind.lower()}_key.pub), then set ssh_host_key: of host "
                f"{host.name} in the inventory to that file's line")
    where = trust.files[0]
    scan = f"{argv(*_keyscan_words(name, kind))} >> {shlex.quote(where)}"
    who, pin = name, ", or pin it with ssh_host_key: in the inventory"
    if jump is not None:
        who = f"the jump host {jump} ({name})"
        pin = (f" (the jump host's own key; the ssh_host_key of host {host.name} pins that host's "
               "key only)") if host.ssh_host_key else f" (the jump host's own key, not host {host.name}'s)"
    if changed:
        return (f"Host key verification failed: {who} offered {offered}, not the key "
                f"{trust.declared} ({', '.join(trust.files)}) lists for it: the host was reinstalled, "
                f"or someone is in the middle; verify the fingerprint, then: "
                f"{argv('ssh-keygen', '-R', name, '-f', where)}; {scan}{pin}")
    return (f"Host key verification failed: {who} offered {offered}, which {trust.declared} "
            f"({', '.join(trust.files)}) does not list; verify the fingerprint, then: {scan}{pin}")


def _known_name(url: str) -> str:
    """How known_hosts files the host of a jump host's ``ssh://[user@]host[:port]``: ``host``,
    or ``[host]:port`` for a port other than 22.

    >>> _known_name("ssh://ops@bastion:2222"), _known_name("ssh://bastion:22")
    ('[bastion]:2222', 'bastion')
    """
    name, _, port = url.removeprefix("ssh://").rpartition("@")[2].partition(":")
    return name if port in ("", "22") else f"[{name}]:{port}"


def _ssh_key_refusal(host: Host, stderr: str) -> str | None:
    """ssh's "Host key verification failed", said with the offered key's fingerprint and the
    fix; None for any other failure. Through a jump host, the key refused may be the jump's:
    its ssh (the ProxyCommand) names it, and the host's ssh then says more (the connection
    closed before its key exchange), where a refusal of the host's own key is ssh's last word."""
    if "Host key verification failed" not in stderr:
        return None
    trust = host_trust(host)
    named = _KEY_NAME.search(stderr)
    if named is None:
        return (f"Host key verification failed ({' '.join(stderr.split())[-300:]}); trusted keys: "
                f"{trust.declared} ({', '.join(trust.files)})")
    changed = named.group(3) is not None
    name = named.group(2) or named.group(3)
    jump = host.jump_host
    if jump is not None and (name == _known_name(jump) or not stderr.rstrip().endswith(
            "Host key verification failed.")):
        trust = jump_trust(host)
    else:
        jump = None
    offered = _OFFERED.search(stderr)
    if offered is not None:
        kind, fingerprint = offered.group(1), offered.group(2)
    else:  # ssh names an unknown key's type, not its fingerprint
        kind = named.group(1) or "ED25519"
        fingerprint = None if name == trust.alias else scanned_fingerprint(name, kind)
    return untrusted_key(host, trust, name, kind, fingerprint, changed, jump)


class _HostKeyRefused(Exception):
    """paramiko:// refused the host's key: the message says which key and the fix."""


def _strict_paramiko(host: Host, options: dict[str, Any]) -> testinfra.host.Host:
    """testinfra's paramiko backend, checking the host key as ssh does with
    StrictHostKeyChecking=yes against ``host_trust(host)`` (testinfra's own accepts any key
    with a warning, and its ssh_config reader may turn checking off)."""
    from backup_drills.core.extras import extra

    with extra("paramiko", f"host {host.name}: a paramiko:// host"):
        import paramiko
        from testinfra.backend.paramiko import ParamikoBackend

    class RefuseUnknown(paramiko.MissingHostKeyPolicy):  # type: ignore[misc]  # untyped
        def __init__(self, trust: HostTrust) -> None:
            self.trust = trust

        def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
            raise _HostKeyRefused(untrusted_key(host, self.trust, hostname, _kind(key),
                                                key.fingerprint, changed=False))

    class StrictParamikoBackend(ParamikoBackend):  # type: ignore[misc]  # untyped
        @functools.cached_property
        def client(self) -> paramiko.SSHClient:
            client = paramiko.SSHClient()
            cfg: dict[str, Any] = {"hostname": self.host.name,
                                   "port": int(self.host.port) if self.host.port else 22,
                                   "username": self.host.user, "timeout": self.timeout,
                                   "password": self.host.password}
            config = Path(self.ssh_config or "~/.ssh/config").expanduser()
            if self.ssh_config or config.exists():
                parsed = paramiko.SSHConfig.from_path(str(config))
                self._load_ssh_config(client, cfg, parsed, str(config.parent))
            if self.ssh_identity_file:
                cfg["key_filename"] = self.ssh_identity_file
            port = int(cfg["port"])
            name = cfg["hostname"] if port == 22 else f"[{cfg['hostname']}]:{port}"
            trust = host_trust(host)
            _trust_keys(client.get_host_keys(), trust, name)
            client.set_missing_host_key_policy(RefuseUnknown(trust))  # after the config: final
            try:
                client.connect(**cfg)
            except paramiko.BadHostKeyException as exc:
                raise _HostKeyRefused(untrusted_key(host, trust, name, _kind(exc.key),
                                                    exc.key.fingerprint, changed=True)) from None
            return client

    spec, kw = parse_hostspec(host.transport)
    for key, value in options.items():
        kw.setdefault(key, value)
    kw.pop("connection", None)
    cache_key = (host.transport, repr(sorted(kw.items())), host_trust(host))
    with _PRIVATE_LOCK:
        found = _PARAMIKO.get(cache_key)
        if found is None:
            backend = StrictParamikoBackend(spec, **kw)
            found = _PARAMIKO[cache_key] = testinfra.host.Host(backend)
            backend.set_host(found)
    return found


_PARAMIKO: dict[tuple[str, str, HostTrust], testinfra.host.Host] = {}


def _kind(key: paramiko.PKey) -> str:
    """ssh's word for a key's type: ``ED25519``, ``RSA``, ``ECDSA``."""
    name = key.get_name()
    return {"ssh-ed25519": "ED25519", "ssh-rsa": "RSA"}.get(name, "ECDSA" if "ecdsa" in name else name)


def _trust_keys(keys: paramiko.HostKeys, trust: HostTrust, name: str) -> None:
    """Fill ``keys`` (a paramiko client's) with what ``trust`` allows, filed under ``name``,
    the name paramiko looks the host up by: a pinned key whatever the address and port."""
    import paramiko

    if trust.pinned:
        entry = paramiko.hostkeys.HostKeyEntry.from_line(f"{name} {trust.pinned}")
        if entry is None or entry.key is None:
            raise _HostKeyRefused(f"ssh_host_key: cannot read the key {trust.pinned[:40]!r}")
        keys.add(name, entry.key.get_name(), entry.key)
        return
    for path in (*SYSTEM_KNOWN_HOSTS, *trust.files):  # as ssh reads GlobalKnownHostsFile too
        if not os.path.exists(path):
            continue
        try:
            keys.load(path)
        except (OSError, UnicodeDecodeError, paramiko.SSHException,
                paramiko.hostkeys.InvalidHostKey) as exc:
            raise _HostKeyRefused(f"cannot read the known_hosts file {path}: {exc}") from None


def control_path(host: Host) -> str:
    """Where ``host``'s shared SSH connection listens: this process's private 0700 folder, one
    socket per host and route, never one an earlier run left open (a master authenticated then
    would hide an identity or host key that fails now). ``%C`` is ssh's hash of the host, port
    and user; a jump host adds its own hash (``%C`` does not cover the route)."""
    name = "%C"
    if host.jump_host:
        name += "-" + hashlib.sha256(host.jump_host.encode()).hexdigest()[:8]
    return str(private_folder("ssh") / name)


def ssh_options(host: Host) -> str:
    """The options an ``ssh://`` host's ssh gets before any ssh_config line (shell words, as
    testinfra's ``ssh_extra_args`` takes them): its private ControlPath, keep-alives, no
    prompts, errors printed, the jump, and the strict host key check.

    >>> "-o StrictHostKeyChecking=yes" in ssh_options(Host(name="db1", transport="ssh://db1"))
    True
    """
    jump = _jump_options(host, host.jump_host) if host.jump_host else ""
    return (f"-o ControlPath={shlex.quote(control_path(host))} -o ServerAliveInterval=5 "
            f"-o ServerAliveCountMax=3 -o BatchMode=yes -o LogLevel=ERROR{jump}{host_key_options(host)}")


def _bytes_as_found(text: str) -> bytes:
    """A command as bytes, names that were not UTF-8 on the host as their own bytes again.

    >>> _bytes_as_found("ls caf\\udce9")
    b'ls caf\\xe9'
    """
    return text.encode("utf-8", "surrogateescape")


def _own_run() -> DrillRun:
    from backup_drills.core.run import DrillRun  # the run imports this module: here, not at the top

    return DrillRun()


class Remote:
    """One host of the inventory, reached through a testinfra backend."""

    def __init__(self, host: Host, timeout: float = 30.0, run: DrillRun | None = None) -> None:
        self.host = host
        # the run this host is drilled in (what it found, its clock, its backends down); a
        # Remote made outside a drill (discover, a test) has a run of its own
        self.drill_run = run if run is not None else _own_run()
        self.name = host.name
        self.timeout = timeout
        options: dict[str, Any] = {}
        if host.transport.startswith(("ssh://", "paramiko://")):
            options["ssh_config"] = host.ssh_config
            options["ssh_identity_file"] = host.ssh_identity_file
            options = {k: v for k, v in options.items() if v}
            options["timeout"] = CONNECT_TIMEOUT
        if host.transport.startswith("ssh://"):
            options["ssh_extra_args"] = ssh_options(host)
        if host.transport.startswith("paramiko://"):
            self._host = _strict_paramiko(host, options)
        else:
            self._host = testinfra.get_host(host.transport, **options)
        # a name read back from a host need not be UTF-8 (it comes decoded with surrogateescape):
        # sent back in a command, it is the same bytes again, not an error
        self._host.backend.encode = _bytes_as_found

    def run(self, script: str, timeout: float | None = None, check: bool = False,
            privileged: bool = True, progress: Callable[[], str] | None = None) -> Result:
        """Run ``script`` with ``sh -c`` on the host, killed after ``timeout`` seconds. On a
        ``sudo`` host it escalates (``sudo -n``) unless the caller says the command needs no
        privilege (``privileged=False``: reading unit state, versions, HTTP endpoints). A long
        command logs a line every 30 s, with what ``progress`` reads of it."""
        limit = int(timeout or self.timeout)
        wrapped = f"timeout -k 5 {limit} sh -c {shlex.quote(script)}"
        if self.host.sudo == "exact" and privileged:
            wrapped = self._exact(script, limit)
        elif self.host.sudo and privileged:
            wrapped = f"sudo -n {wrapped}"
        payload, secrets = self._runner_credentials() if isinstance(script, CredentialScript) \
            else (None, [])
        started = time.monotonic()
        LOG.debug("host %s: running (limit %ds): %s", self.name, limit, _shown(script))
        try:
            with _heartbeat(self.name, script, limit, progress):
                out = self._backend_run(wrapped, payload)
        except RuntimeError as exc:  # ssh exited 255
            raise HostUnreachable(self.name, _ssh_reason(exc, self.host)) from None
        except _HostKeyRefused as exc:  # paramiko: the host's key is not trusted
            raise HostUnreachable(self.name, str(exc)) from None
        except _paramiko_errors() as exc:  # paramiko: refused, silent, auth
            raise HostUnreachable(self.name, _paramiko_reason(exc)) from None
        seconds = time.monotonic() - started
        if seconds >= PROGRESS_EVERY:
            LOG.info("host %s: finished in %.0fs (exit %d): %s", self.name, seconds, out.exit_status,
                     _shown(script))
        if out.exit_status in (TIMED_OUT, _KILLED) and seconds >= limit:
            raise CommandTimedOut(self.name, script, limit)
        stdout, stderr = out.stdout_bytes, out.stderr_bytes
        for secret in secrets:  # a tool that echoes a value back must not carry it further
            stdout, stderr = (stdout.replace(secret, MASK.encode()),
                              stderr.replace(secret, MASK.encode()))
        stdout, stderr = mask_bytes(stdout), mask_bytes(stderr)  # every registered secret's forms
        result = Result(self.name, script, out.exit_status, stdout,
                        stderr.decode("utf-8", errors="replace"), seconds)
        if out.exit_status == _NO_CREDENTIALS and isinstance(script, CredentialScript) and script.reads:
            raise DrillCouldNotRun(f"host {self.name}: cannot read {script.reads} as the drilling "
                                   f"user ({'with' if self.host.sudo else 'without'} sudo)")
        if check and not result.ok:
            raise DrillCouldNotRun(f"host {self.name}: `{script}` exited {result.exit_status}: "
                                   f"{result.tail()}")
        return result

    def with_credentials(self, words: Sequence[str], job: Job | None = None) -> CredentialScript:
        """A command that loads the credentials env file (the ``job``'s own, else the host's; and
        the runner's variables named by ``credentials_from_env``, read from stdin), then the
        job's ``password_file`` or ``password_command`` over any password the file set, then runs
        ``words``. A command for a backend that failed its up-front probe from this host is not
        run: it could not run."""
        for address, reason in self.drill_run.down.of(self.name).items():
            if any(word == address or word.startswith((f"{address}/", f"{address}::")) for word in words):
                raise DrillCouldNotRun(f"host {self.name}: {reason}")
        if job is not None and self.host.sudo == "exact" and (job.credentials_env or job.password_file
                                                             or job.password_command or job.credentials_unit):
            raise DrillCouldNotRun(f"host {self.name}, job {job.name}: sudo: exact loads one env file "
                                   "per program (sudoers' env_file), not a job's own credentials_env, "
                                   "password_file, password_command or credentials_unit")
        env_file = (job.credentials_env if job is not None else None) or self.host.credentials_env
        load, reads = "", []
        if env_file:
            env = shlex.quote(env_file)
            load = f"[ -r {env} ] || exit {_NO_CREDENTIALS}; set -a; . {env}; set +a; "
            whose = f"job {job.name}'s" if job is not None and job.credentials_env else "its"
            reads.append(f"{whose} credentials file {env_file}")
        if self.host.credentials_from_env:
            load += "set -a; . /dev/stdin; set +a; "
        if job is not None:
            load += password_exports(job)
        if job is not None and job.password_file:
            load += f"[ -r {shlex.quote(job.password_file)} ] || exit {_NO_CREDENTIALS}; "
            reads.append(f"job {job.name}'s password file {job.password_file}")
        command = f"{load}unset AWS_CA_BUNDLE; exec {argv(*words)}"
        if job is not None and job.credentials_unit:  # $CREDENTIALS_DIRECTORY, as in the unit
            unit = job.credentials_unit
            command = f"exec {under_unit_credentials(unit, unit_credentials(self, unit), command)}"
        made = CredentialScript(command)
        made.words, made.reads = tuple(words), " or ".join(reads)
        return made

    def _exact(self, script: str, limit: int) -> str:
        """``script`` escalated as one program on a ``sudo: exact`` host (``backup_drills.core.privilege``);
        a command sudoers cannot allow exactly could not run, named."""
        words = script.words if isinstance(script, CredentialScript) else None
        if words is not None and self.host.credentials_from_env:
            raise DrillCouldNotRun(f"host {self.name}: sudo: exact passes credentials through "
                                   "sudoers' env_file, not credentials_from_env")
        try:
            return exact_command(script, limit, words)
        except NotExact as exc:
            raise DrillCouldNotRun(f"host {self.name}: sudo: exact cannot escalate this "
                                   f"command: {exc}") from None

    def _runner_credentials(self) -> tuple[Secret | None, list[bytes]]:
        """The stdin payload (``NAME='value'`` lines) of ``credentials_from_env`` and the values
        to mask; a variable the runner lacks means the drill cannot run. The payload is a
        ``Secret``: a ``pytest -l`` traceback through ``run`` shows it as the mask (shell-quoted,
        a value with a ``'`` in it no longer looks like the value the masker knows)."""
        names = self.host.credentials_from_env
        if not names:
            return None, []
        missing = [name for name in names if not os.environ.get(name)]
        if missing:
            raise DrillCouldNotRun(f"host {self.name}: the runner's environment lacks "
                                   f"{', '.join(missing)} (credentials_from_env)")
        values = {name: os.environ[name] for name in names}
        register_all(values.values())  # masked in every output from now on (backup_drills.core.secrets)
        return (Secret("".join(f"{name}={shlex.quote(value)}\n" for name, value in values.items())),
                [v.encode() for v in values.values() if len(v) >= 4])

    def _backend_run(self, command: str, stdin: Secret | None) -> CommandResult:
        """testinfra runs commands without stdin; with a payload, the backend's own command
        line (ssh with its options, or the local shell) runs here with the payload piped in."""
        backend = self._host.backend
        if stdin is None:
            return backend.run(command)
        if isinstance(backend, SshBackend):
            words, args = backend._build_ssh_command(backend.get_command(command))
            line = backend.quote(" ".join(words), *args)
        else:  # local:// (the inventory allows nothing else with credentials_from_env)
            line = backend.get_command(command)
        done = subprocess.run(backend.encode(line), shell=True, input=stdin.reveal().encode(),
                              capture_output=True, check=False)
        out = backend.result(done.returncode, backend.encode(line), done.stdout, done.stderr)
        if isinstance(backend, SshBackend) and done.returncode == 255:
            raise RuntimeError(out)
        return out

    def probe(self) -> str | None:
        """None when the host answers within seconds, else the reason it does not."""
        try:
            self.run("true", timeout=10, privileged=False)
        except DrillCouldNotRun as exc:
            return str(exc)
        return None


def _ssh_reason(exc: RuntimeError, host: Host) -> str:
    """The last line ssh printed, from testinfra's RuntimeError(CommandResult); a refused host
    key said with its fingerprint and the fix."""
    detail = exc.args[0] if exc.args else None
    stderr = getattr(detail, "stderr", None) if detail is not None else None
    if not isinstance(stderr, str):
        stderr = str(detail) if isinstance(detail, str) else ""
    refused = _ssh_key_refusal(host, stderr)
    if refused is not None:
        return refused
    lines = [line for line in stderr.splitlines() if line.strip()]
    return lines[-1] if lines else "ssh exited 255 without a message (connection lost?)"


def _paramiko_errors() -> tuple[type[BaseException], ...]:
    """The errors a backend raises for a host it cannot reach: paramiko's too, where a
    ``paramiko://`` host loaded it (0.1 s of imports that ``ssh://`` hosts never need).

    >>> OSError in _paramiko_errors()
    True
    """
    loaded = sys.modules.get("paramiko")
    return (OSError, EOFError, loaded.SSHException) if loaded is not None else (OSError, EOFError)


def _paramiko_reason(exc: BaseException) -> str:
    """What paramiko's exception says, with its kind when the message alone is vague."""
    import paramiko

    if isinstance(exc, paramiko.AuthenticationException):
        return f"authentication failed: {exc}"
    if isinstance(exc, TimeoutError):
        return f"connection timed out after {CONNECT_TIMEOUT}s ({exc or 'no answer'})"
    if isinstance(exc, paramiko.SSHException) and any(
            vague in str(exc) for vague in ("No existing session", "banner")):
        return f"no SSH banner: the port answers but no SSH server speaks ({exc})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
