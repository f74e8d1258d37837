"""Signed evidence: one OpenSSH signature (SSHSIG, ``ssh-keygen -Y sign``) over a run's
``manifest.json``, checkable on any machine with OpenSSH and nothing of this suite.

    >>> private, public = keygen(Path("keys"))                         # doctest: +SKIP
    >>> sign(Path("run/manifest.json"), signing_key(str(private)))     # doctest: +SKIP
    PosixPath('run/manifest.json.sig')
    >>> check_signature(Path("run/manifest.json"), public)             # doctest: +SKIP

The private key comes from one of three places (``--sign-evidence``):

- ``PATH``: an OpenSSH private key file, refused unless only its owner may read it (0600);
- ``env:NAME``: the private key's text in the environment variable ``NAME`` (a CI secret);
- ``agent:PUBLIC``: the key in ssh-agent (``$SSH_AUTH_SOCK``) whose public key is ``PUBLIC``.

An auditor checks the signature with ssh-keygen alone::

    ssh-keygen -Y verify -f allowed_signers -I backup-drills -n backup-drills-evidence \\
        -s manifest.json.sig < manifest.json
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

NAMESPACE = "backup-drills-evidence"  # ssh-keygen -n: a signature made for this use only
IDENTITY = "backup-drills"  # the principal of the key in allowed_signers (ssh-keygen -I)
SUFFIX = ".sig"
TIMEOUT_SECONDS = 30
KEY_TYPE = "ssh-ed25519"


class SigningError(ValueError):
    """A key that cannot be read or used, or ssh-keygen missing or failing; the message names
    the file or variable."""


@dataclass(frozen=True)
class SigningKey:
    """Where the private key is: a file, an environment variable, or ssh-agent."""

    source: str  # "file", "env" or "agent"
    where: str  # the file, the variable's name, or the public key file

    def describe(self) -> str:
        return {"file": self.where, "env": f"${self.where}",
                "agent": f"ssh-agent key {self.where}"}[self.source]


def _ssh_keygen() -> str:
    found = shutil.which("ssh-keygen")
    if found is None:
        raise SigningError("ssh-keygen not found: install OpenSSH's client (openssh-client)")
    return found


def _run(words: list[str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(words, input=stdin if stdin is not None else b"", capture_output=True,
                              timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise SigningError(f"{' '.join(words[:3])} did not finish within {TIMEOUT_SECONDS}s") from None


def keygen(directory: Path, name: str = "evidence") -> tuple[Path, Path]:
    """Write ``<name>.key`` (OpenSSH ed25519 private key, mode 0600, never overwritten),
    ``<name>.pub`` and ``allowed_signers`` (the line an auditor's ssh-keygen -Y verify reads)."""
    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = directory / f"{name}.key", directory / f"{name}.pub"
    if private_path.exists():
        raise SigningError(f"{private_path}: a key is already there; refusing to overwrite it")
    done = _run([_ssh_keygen(), "-q", "-t", "ed25519", "-N", "", "-C", IDENTITY,
                 "-f", str(private_path)])
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip()
        raise SigningError(f"{private_path}: ssh-keygen failed: {said}")
    Path(f"{private_path}.pub").replace(public_path)
    (directory / "allowed_signers").write_text(allowed_signers_line(public_path))
    return private_path, public_path


def _public_line(public_key: Path) -> str:
    try:
        text = public_key.read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise SigningError(f"{public_key}: not readable: {exc}") from None
    words = text.split()
    if len(text.splitlines()) != 1 or len(words) < 2 or words[0] != KEY_TYPE:
        raise SigningError(f"{public_key}: expected one OpenSSH ed25519 public key line "
                           f"('{KEY_TYPE} AAAA...'), as `drill-evidence keygen` writes")
    return f"{words[0]} {words[1]}"


def allowed_signers_line(public_key: Path, identity: str = IDENTITY) -> str:
    """The ``allowed_signers`` line (ssh-keygen(1), ALLOWED SIGNERS) that trusts ``public_key``
    for evidence signatures only."""
    return f'{identity} namespaces="{NAMESPACE}" {_public_line(public_key)}\n'


def signing_key(spec: str) -> SigningKey:
    """The key ``--sign-evidence`` names, checked before any drill runs: a file only its owner
    can read, a set environment variable, or a readable public key for ssh-agent."""
    if spec.startswith("env:"):
        name = spec[4:]
        if not os.environ.get(name, "").strip():
            raise SigningError(f"env:{name}: the environment variable {name} is not set "
                               "(expected an OpenSSH private key's text)")
        return SigningKey("env", name)
    if spec.startswith("agent:"):
        public = Path(spec[6:]).expanduser()
        _public_line(public)
        if not os.environ.get("SSH_AUTH_SOCK"):
            raise SigningError(f"agent:{public}: SSH_AUTH_SOCK is not set: no ssh-agent to sign with")
        return SigningKey("agent", str(public))
    path = Path(spec).expanduser()
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        head = path.read_bytes()[:64]
    except OSError as exc:
        raise SigningError(f"{path}: not readable: {exc.strerror}") from None
    if mode & 0o077:
        raise SigningError(f"{path}: mode {mode:04o}, expected 0600 (only its owner may read a "
                           f"private key): chmod 600 {path}")
    if not head.startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----"):
        raise SigningError(f"{path}: expected an OpenSSH private key (-----BEGIN OPENSSH PRIVATE "
                           "KEY-----), as `drill-evidence keygen` or ssh-keygen -t ed25519 writes")
    return SigningKey("file", str(path))


def sign(file: Path, key: SigningKey) -> Path:
    """Write ``<file>.sig``: ssh-keygen's SSHSIG signature of the file in the evidence namespace."""
    target = file.with_name(file.name + SUFFIX)
    target.unlink(missing_ok=True)  # ssh-keygen asks before overwriting
    command = [_ssh_keygen(), "-Y", "sign", "-n", NAMESPACE]
    if key.source == "env":
        with tempfile.TemporaryDirectory(prefix="drill-sign-") as folder:
            private = Path(folder) / "key"
            fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(os.environ.get(key.where, "").strip() + "\n")
            done = _run([*command, "-f", str(private), str(file)])
    elif key.source == "agent":
        done = _run([*command, "-U", "-f", key.where, str(file)])
    else:
        done = _run([*command, "-f", key.where, str(file)])
    if done.returncode != 0 or not target.exists():
        error = done.stderr.decode(errors="replace").strip().splitlines()
        raise SigningError(f"{key.describe()}: ssh-keygen -Y sign failed (exit {done.returncode}): "
                           f"{error[-1] if error else 'no message'}")
    return target


def check_signature(file: Path, public_key: Path | None = None,
                    allowed_signers: Path | None = None, identity: str = IDENTITY) -> str | None:
    """None when ``<file>.sig`` is a good signature of ``file`` by the trusted key (``public_key``,
    or ``identity`` in an ``allowed_signers`` file), else why not, as ssh-keygen -Y verify says.
    Raises SigningError when the key or signers file cannot be read."""
    signature = file.with_name(file.name + SUFFIX)
    if not signature.is_file():
        return f"{signature}: no signature (the run was not signed, or its signature was removed)"
    with tempfile.TemporaryDirectory(prefix="drill-verify-") as folder:
        if allowed_signers is None:
            if public_key is None:
                raise SigningError("no key to verify with: give --key PUBLIC or --allowed-signers FILE")
            allowed_signers = Path(folder) / "allowed_signers"
            allowed_signers.write_text(allowed_signers_line(public_key, identity))
        elif not allowed_signers.is_file():
            raise SigningError(f"{allowed_signers}: no such allowed_signers file")
        done = _run([_ssh_keygen(), "-Y", "verify", "-f", str(allowed_signers), "-I", identity,
                     "-n", NAMESPACE, "-s", str(signature)], stdin=file.read_bytes())
    if done.returncode == 0:
        return None
    said = " ".join(done.stderr.decode(errors="replace").split())
    return (f"{signature}: signature does not verify for {identity} ({said or 'no message'}): "
            f"{file.name} was changed after signing, or signed with another key")
