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
import hashlib
import logging
import os
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
from typing import Any, TypeVar

import testinfra
from testinfra.backend.base import CommandResult
from testinfra.backend.ssh import SshBackend

from drills.inventory.schema import Host

TIMED_OUT = 124
CONNECT_TIMEOUT = 5  # seconds to connect; a silent host also meets ServerAlive (5 s x 3)
_KILLED = 137
_NO_CREDENTIALS = 97  # the credentials env file is not readable by the drilling user
# One shared connection per host (and route) within one drill process, never one an earlier run
# left open: a master authenticated then would hide an identity or host key that fails now.
_MUX = "-o ControlPath=/tmp/.backup-drill-ssh-{pid}-%C"


_DOWN: dict[str, dict[str, str]] = {}  # host -> backend address -> why it is not drilled


def backend_down(host: str, address: str, reason: str) -> None:
    """From now on, commands of ``host`` that name ``address`` (a repository, a bucket) could
    not run, for ``reason`` (the up-front probe's finding)."""
    _DOWN.setdefault(host, {})[address] = reason


def down_reason(host: str, address: str) -> str | None:
    """Why ``address`` is not drilled from ``host``, or None when its probe passed."""
    return _DOWN.get(host, {}).get(address)


def forget_backends() -> None:
    """A new run probes every backend again."""
    _DOWN.clear()


class DrillCouldNotRun(RuntimeError):
    """The drill could not run (host unreachable, command timed out, tool missing): not a
    verdict about the backup itself."""


T = TypeVar("T")


def declared(job: Any, value: T | None, what: str) -> T:
    """``value`` when the job declares it, else COULD NOT RUN naming what the job lacks:
    ``declared(job, job.cron, "cron entry")``.

    >>> declared(type("J", (), {"name": "j"})(), None, "metrics")
    Traceback (most recent call last):
    drills.core.transport.DrillCouldNotRun: job j declares no metrics
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
    ``Remote.run`` hands it the runner-side values on stdin."""


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


LOG = logging.getLogger("drills.core.transport")
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


_PINNED: list[Path] = []  # this process's private folder of pinned host keys


def host_key_options(host: Host) -> str:
    """ssh options that trust only the host keys the inventory declares (none: ssh's own
    known_hosts and config decide). A pinned key is written to a runner-private known_hosts file
    under an alias of the host's name, so its address and port do not matter.

    >>> host_key_options(Host(name="db1", transport="ssh://db1", ssh_known_hosts="/etc/drill/known_hosts"))
    ' -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/etc/drill/known_hosts'
    """
    if host.ssh_known_hosts:
        return f" -o StrictHostKeyChecking=yes -o UserKnownHostsFile={shlex.quote(host.ssh_known_hosts)}"
    if not host.ssh_host_key:
        return ""
    alias = f"backup-drills-{host.name}"
    if not _PINNED:
        _PINNED.append(Path(tempfile.mkdtemp(prefix="backup-drills-known-hosts-")))  # mode 0700
        atexit.register(shutil.rmtree, _PINNED[0], ignore_errors=True)  # gone with the process
    pinned = _PINNED[0] / host.name
    pinned.write_text(f"{alias} {host.ssh_host_key}\n")
    return (f" -o StrictHostKeyChecking=yes -o UserKnownHostsFile={shlex.quote(str(pinned))}"
            f" -o HostKeyAlias={shlex.quote(alias)}")


class Remote:
    """One host of the inventory, reached through a testinfra backend."""

    def __init__(self, host: Host, timeout: float = 30.0) -> None:
        self.host = host
        self.name = host.name
        self.timeout = timeout
        options: dict[str, Any] = {}
        if host.transport.startswith(("ssh://", "paramiko://")):
            options["ssh_config"] = host.ssh_config
            options["ssh_identity_file"] = host.ssh_identity_file
            options = {k: v for k, v in options.items() if v}
            options["timeout"] = CONNECT_TIMEOUT
        if host.transport.startswith("ssh://"):
            mux, jump = _MUX.format(pid=os.getpid()), ""
            if host.jump_host:  # %C does not cover the route: a jump gets its own connection
                route = hashlib.sha256(host.jump_host.encode()).hexdigest()[:8]
                mux, jump = f"{mux}-{route}", f" -o ProxyJump={shlex.quote(host.jump_host)}"
            options["ssh_extra_args"] = (f"{mux} -o ServerAliveInterval=5 -o ServerAliveCountMax=3 "
                                         f"-o BatchMode=yes{jump}{host_key_options(host)}")
        self._host = testinfra.get_host(host.transport, **options)

    def run(self, script: str, timeout: float | None = None, check: bool = False,
            privileged: bool = True, progress: Callable[[], str] | None = None) -> Result:
        """Run ``script`` with ``sh -c`` on the host, killed after ``timeout`` seconds. On a
        ``sudo`` host it escalates (``sudo -n``) unless the caller says the command needs no
        privilege (``privileged=False``: reading unit state, versions, HTTP endpoints). A long
        command logs a line every 30 s, with what ``progress`` reads of it."""
        limit = int(timeout or self.timeout)
        wrapped = f"timeout -k 5 {limit} sh -c {shlex.quote(script)}"
        if self.host.sudo and privileged:
            wrapped = f"sudo -n {wrapped}"
        payload, secrets = self._runner_credentials() if isinstance(script, CredentialScript) \
            else (None, [])
        started = time.monotonic()
        LOG.debug("host %s: running (limit %ds): %s", self.name, limit, _shown(script))
        try:
            with _heartbeat(self.name, script, limit, progress):
                out = self._backend_run(wrapped, payload)
        except RuntimeError as exc:  # ssh exited 255
            raise HostUnreachable(self.name, _ssh_reason(exc)) from None
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
        result = Result(self.name, script, out.exit_status, stdout,
                        stderr.decode("utf-8", errors="replace"), seconds)
        if out.exit_status == _NO_CREDENTIALS and self.host.credentials_env:
            raise DrillCouldNotRun(f"host {self.name}: cannot read its credentials file "
                                   f"{self.host.credentials_env} as the drilling user "
                                   f"({'with' if self.host.sudo else 'without'} sudo)")
        if check and not result.ok:
            raise DrillCouldNotRun(f"host {self.name}: `{script}` exited {result.exit_status}: "
                                   f"{result.tail()}")
        return result

    def with_credentials(self, words: Sequence[str]) -> CredentialScript:
        """A command that loads the host's credentials env file (and the runner's variables
        named by ``credentials_from_env``, read from stdin), then runs ``words``. A command for
        a backend that failed its up-front probe from this host is not run: it could not run."""
        for address, reason in _DOWN.get(self.name, {}).items():
            if any(word == address or word.startswith((f"{address}/", f"{address}::")) for word in words):
                raise DrillCouldNotRun(f"host {self.name}: {reason}")
        load = ""
        if self.host.credentials_env:
            env = shlex.quote(self.host.credentials_env)
            load = f"[ -r {env} ] || exit {_NO_CREDENTIALS}; set -a; . {env}; set +a; "
        if self.host.credentials_from_env:
            load += "set -a; . /dev/stdin; set +a; "
        return CredentialScript(f"{load}unset AWS_CA_BUNDLE; exec {argv(*words)}")

    def _runner_credentials(self) -> tuple[bytes | None, list[bytes]]:
        """The stdin payload (``NAME='value'`` lines) of ``credentials_from_env`` and the values
        to mask; a variable the runner lacks means the drill cannot run."""
        names = self.host.credentials_from_env
        if not names:
            return None, []
        missing = [name for name in names if not os.environ.get(name)]
        if missing:
            raise DrillCouldNotRun(f"host {self.name}: the runner's environment lacks "
                                   f"{', '.join(missing)} (credentials_from_env)")
        values = {name: os.environ[name] for name in names}
        payload = "".join(f"{name}={shlex.quote(value)}\n" for name, value in values.items())
        return payload.encode(), [v.encode() for v in values.values() if len(v) >= 4]

    def _backend_run(self, command: str, stdin: bytes | None) -> CommandResult:
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
        done = subprocess.run(backend.encode(line), shell=True, input=stdin, capture_output=True,
                              check=False)
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


def _ssh_reason(exc: RuntimeError) -> str:
    """The last line ssh printed, from testinfra's RuntimeError(CommandResult)."""
    detail = exc.args[0] if exc.args else None
    stderr = getattr(detail, "stderr", None) if detail is not None else None
    if not isinstance(stderr, str):
        stderr = str(detail) if isinstance(detail, str) else ""
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
