"""The secret values the runner holds, masked in everything the drill writes or prints.

Each value the runner itself reads (a host's ``credentials_from_env`` variable, the object
store auditor's key from the environment or its env file) is registered once per run
(``register``; registering again is a no-op). ``mask`` then replaces it in any text: terminal
and log lines, error messages, evidence JSON, Allure results, JUnit XML. A value is masked in
every form text can carry it in (``forms``):

- raw, JSON-escaped (``json.dumps``, ASCII-escaped or not), and as Python's ``repr`` shows it
  in a traceback's locals (of a ``str`` and of its UTF-8 ``bytes``);
- URL-encoded: ``quote`` (``/`` kept, and ``/`` encoded) and ``quote_plus``;
- base64, standard and URL-safe alphabets, at each of the 3 alignments the value can start at
  inside a longer base64 text (an attachment embedded in a report): the characters that encode
  the value's bytes alone. The 1 or 2 characters at each end that share bits with the
  neighbouring bytes are left out, so the form matches whatever surrounds the value.

Values shorter than ``MIN_LENGTH`` (6) characters are not registered: masking "a" or "1234"
everywhere would garble every report and protect nothing.

A value the runner must hand on is held as a ``Secret``: its ``repr`` and ``str`` are the mask
(a ``pytest -l`` traceback shows ``Secret(********)``), and only ``reveal()`` gives the value.

    >>> secret = register("s3cr3t-value")
    >>> secret, f"{secret}", secret.reveal()
    (Secret(********), '********', 's3cr3t-value')
    >>> mask("RESTIC_PASSWORD=s3cr3t-value; as base64: czNjcjN0LXZhbHVl")
    'RESTIC_PASSWORD=********; as base64: ********'
    >>> register("short"), mask("short stays")
    (Secret(********), 'short stays')
    >>> forget()
"""

from __future__ import annotations

import base64
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "********"
MIN_LENGTH = 6  # shorter values are not registered (see the module's docstring)


class Secret:
    """A secret value: shown as the mask, given only by ``reveal()``.

    >>> Secret("hunter2-long"), str(Secret("hunter2-long")), Secret("hunter2-long").reveal()
    (Secret(********), '********', 'hunter2-long')
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value itself, for the one call that must hand it on (a client, a stdin payload)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("a Secret is not pickled: it never leaves the process that read it")


_VALUES: dict[str, None] = {}  # registered values, in registration order
_FORMS: list[str] = []  # every form of every registered value, longest first
_FORMS_BYTES: list[bytes] = []


def _base64_forms(data: bytes) -> set[str]:
    """The base64 characters that encode ``data`` alone, at each of the 3 alignments it can
    start at inside a longer text (standard and URL-safe alphabets).

    >>> sorted(_base64_forms(b"abcdef"))
    ['FiY2RlZ', 'YWJjZGVm', 'hYmNkZW']
    """
    found = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode()
        start, end = -(-8 * offset // 6), 8 * (offset + len(data)) // 6  # fully inside ``data``
        chosen = encoded[start:end]
        found |= {chosen, chosen.replace("+", "-").replace("/", "_")}
    return found


def forms(value: str) -> set[str]:
    r"""Every form of ``value`` that ``mask`` replaces (see the module's docstring).

    >>> sorted(forms('pa"ss/wörd'))
    ... # doctest: +NORMALIZE_WHITESPACE
    ['BhInNzL3fDtnJk', 'cGEic3Mvd8O2cm', 'pa"ss/w\\xc3\\xb6rd', 'pa"ss/wörd', 'pa%22ss%2Fw%C3%B6rd',
     'pa%22ss/w%C3%B6rd', 'pa\\"ss/w\\u00f6rd', 'pa\\"ss/wörd', 'wYSJzcy93w7ZyZ']
    """
    raw = value.encode("utf-8", errors="surrogateescape")
    found = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
             repr(value)[1:-1], repr(raw)[2:-1], quote(value), quote(value, safe=""),
             quote_plus(value), *_base64_forms(raw)}
    return {form for form in found if len(form) >= MIN_LENGTH}


def register(value: str | Secret) -> Secret:
    """Mask ``value`` (and its forms) from now on in this process; the value as a ``Secret``.
    A value shorter than ``MIN_LENGTH``, or made of ``*`` alone, is not masked."""
    secret = value if isinstance(value, Secret) else Secret(value)
    text = secret.reveal()
    if len(text) < MIN_LENGTH or not text.strip("*") or text in _VALUES:
        return secret
    _VALUES[text] = None
    every = {form for known in _VALUES for form in forms(known)}
    _FORMS[:] = sorted(every, key=lambda form: (-len(form), form))
    _FORMS_BYTES[:] = [form.encode("utf-8", errors="surrogateescape") for form in _FORMS]
    return secret


def register_all(values: Iterable[str | Secret | None]) -> list[Secret]:
    """``register`` each value given (None and empty values are skipped)."""
    return [register(value) for value in values if value]


def active() -> bool:
    """True when at least one value is registered (masking is then not a no-op)."""
    return bool(_FORMS)


def forget() -> None:
    """Forget every registered value (a new run in the same process; tests)."""
    _VALUES.clear()
    _FORMS.clear()
    _FORMS_BYTES.clear()


def mask(text: str) -> str:
    """``text`` with every form of every registered value replaced by ``MASK``."""
    for form in _FORMS:
        if form in text:
            text = text.replace(form, MASK)
    return text


def mask_bytes(data: bytes) -> bytes:
    """``mask`` for bytes (a command's raw output, a file)."""
    for form in _FORMS_BYTES:
        if form in data:
            data = data.replace(form, MASK.encode())
    return data


def mask_file(path: Path) -> bool:
    """Mask a text file in place (atomically); binary files (PNG...) are left as they are.
    True when something was masked."""
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    masked = mask(text)
    if masked == text:
        return False
    fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(masked)
    os.chmod(partial, path.stat().st_mode & 0o7777)
    os.replace(partial, path)
    return True


def mask_tree(folder: Path) -> list[Path]:
    """Mask every text file under ``folder`` (Allure results and attachments); the files changed."""
    if not active() or not folder.is_dir():
        return []
    return [path for path in sorted(folder.rglob("*")) if path.is_file() and mask_file(path)]


_FACTORY: list[Callable[..., logging.LogRecord]] = []


def mask_log_records() -> None:
    """Every log record made in this process from now on carries its message masked (live
    log, captured logs, ``--log-file``), whichever logger and handler. Idempotent."""
    if _FACTORY:
        return
    _FACTORY.append(logging.getLogRecordFactory())

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = _FACTORY[0](*args, **kwargs)
        if _FORMS:
            try:
                message = record.getMessage()
            except Exception:  # a malformed call is left for logging itself to report
                return record
            masked = mask(message)
            if masked != message:
                record.msg, record.args = masked, None
        return record

    logging.setLogRecordFactory(masked_record)
