"""A cheaper key for the lab's restic repositories: the same master key, wrapped again with
scrypt at N=1024 instead of the N restic calibrates at ``init`` (32768 here, about 0.13 CPU-seconds
that every restic command spends opening the repository, some 500 times in ``make test``).

A restic key file is JSON: the scrypt parameters and salt, and ``data``, the master key sealed
with the key scrypt derives from the password (first 32 bytes: AES-256-CTR key; next 16: the
AES key of Poly1305-AES; last 16: its ``r``), stored as nonce || ciphertext || MAC. Only the
wrapping changes: the repository's data, config and master key stay as they are. Lab only: the
suite never weakens a real repository's key.

    >>> cheap = rewrapped(key_file, "password")                       # doctest: +SKIP
    >>> json.loads(cheap)["N"]                                        # doctest: +SKIP
    1024
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.poly1305 import Poly1305

LAB_N = 1024  # scrypt's cost in the lab's keys (r=8, p=1 as restic's own)


class WrongPassword(ValueError):
    """A key file this module cannot open with the password."""


def _derived(password: str, salt: bytes, n: int, r: int, p: int) -> tuple[bytes, bytes, bytes]:
    """(encryption key, Poly1305-AES key k, Poly1305 r) as restic derives them."""
    keys = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=64,
                          maxmem=256 * 1024 * 1024)
    return keys[:32], keys[32:48], keys[48:]


def _mac(k: bytes, r: bytes, nonce: bytes, ciphertext: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(k), modes.ECB()).encryptor()  # one block: s = AES_k(nonce)
    s = encryptor.update(nonce) + encryptor.finalize()
    return Poly1305.generate_tag(r + s, ciphertext)


def _ctr(key: bytes, nonce: bytes, data: bytes) -> bytes:
    cipher = Cipher(algorithms.AES(key), modes.CTR(nonce)).encryptor()
    return cipher.update(data) + cipher.finalize()


def opened(doc: dict[str, Any], password: str) -> bytes:
    """The master key (restic's JSON) a key file seals; WrongPassword if the password is wrong."""
    salt = base64.b64decode(doc["salt"])
    encryption, k, r = _derived(password, salt, doc["N"], doc["r"], doc["p"])
    data = base64.b64decode(doc["data"])
    nonce, ciphertext, tag = data[:16], data[16:-16], data[-16:]
    if _mac(k, r, nonce, ciphertext) != tag:
        raise WrongPassword("the password does not open this restic key")
    return _ctr(encryption, nonce, ciphertext)


def rewrapped(key_file: bytes, password: str, n: int = LAB_N) -> bytes:
    """``key_file`` with the same master key, sealed under scrypt cost ``n`` and a new salt."""
    doc = json.loads(key_file)
    master = opened(doc, password)
    salt, nonce = os.urandom(64), os.urandom(16)
    encryption, k, r = _derived(password, salt, n, 8, 1)
    ciphertext = _ctr(encryption, nonce, master)
    sealed = nonce + ciphertext + _mac(k, r, nonce, ciphertext)
    doc |= {"N": n, "r": 8, "p": 1, "salt": base64.b64encode(salt).decode(),
            "data": base64.b64encode(sealed).decode()}
    return json.dumps(doc).encode()


def key_id(key_file: bytes) -> str:
    """The name restic stores a key file under: the SHA-256 of its content."""
    return hashlib.sha256(key_file).hexdigest()
