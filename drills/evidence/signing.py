"""Signed evidence: ed25519 detached signatures (``<file>.sig``) over evidence files.

    >>> private, public = keygen(Path("keys"))                    # doctest: +SKIP
    >>> sign_file(Path("reports/evidence/run/flux.json"), private) # doctest: +SKIP
    >>> verify_path(Path("reports/evidence"), public)             # doctest: +SKIP
    []

``verify_path`` returns one problem per file: unsigned, signature invalid (tampered, or signed
with another key), or a signature whose file is gone.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SUFFIX = ".sig"


class SigningError(ValueError):
    """A key that cannot be read or is of the wrong kind; the message names the file."""


def keygen(directory: Path, name: str = "evidence") -> tuple[Path, Path]:
    """Write ``<name>.key`` (private, mode 0600, never overwritten) and ``<name>.pub``."""
    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = directory / f"{name}.key", directory / f"{name}.pub"
    if private_path.exists():
        raise SigningError(f"{private_path}: a key is already there; refusing to overwrite it")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public_path.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private_path, public_path


def _load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningError(f"{path}: not a readable PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"{path}: expected an ed25519 private key")
    return key


def _load_public(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise SigningError(f"{path}: not a readable PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise SigningError(f"{path}: expected an ed25519 public key")
    return key


def check_private_key(path: Path) -> None:
    """Raise SigningError naming the file unless it holds an ed25519 private key."""
    _load_private(path)


def sign_file(path: Path, private_key: Path) -> Path:
    """Write ``<path>.sig``: the base64 ed25519 signature of the file's bytes."""
    signature = _load_private(private_key).sign(path.read_bytes())
    target = path.with_name(path.name + SUFFIX)
    target.write_text(base64.b64encode(signature).decode() + "\n")
    return target


def verify_path(path: Path, public_key: Path) -> list[str]:
    """Problems found verifying one evidence file or every ``*.json`` below a directory."""
    key = _load_public(public_key)
    files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
    problems = []
    for file in files:
        signature = file.with_name(file.name + SUFFIX)
        if not signature.exists():
            problems.append(f"{file}: not signed (no {signature.name})")
            continue
        try:
            key.verify(base64.b64decode(signature.read_text()), file.read_bytes())
        except (InvalidSignature, ValueError):
            problems.append(f"{file}: signature does not verify: the file was changed after "
                            "signing, or signed with another key")
    if path.is_dir():
        problems += [f"{sig}: signature without its file" for sig in sorted(path.rglob("*.sig"))
                     if not sig.with_name(sig.name.removesuffix(SUFFIX)).exists()]
    return problems
