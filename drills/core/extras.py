"""Optional libraries, installed with an extra of the package: a missing one is named with the
extra that brings it and how to add it to an installed wheel, so the message says what to run.

    >>> with extra("paramiko", "a paramiko:// host"):
    ...     import no_such_library_of_the_paramiko_extra
    Traceback (most recent call last):
    ...
    backup_drills.core.extras.MissingExtra: a paramiko:// host needs no_such_library_of_the_paramiko_extra, \
which is not installed (the extra [paramiko] of backup-drills): pip install 'paramiko...' \
(or install the wheel with its extra: pip install './backup_drills-...-py3-none-any.whl[paramiko]')
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata

from backup_drills.core.transport import DrillCouldNotRun

EXTRAS = {"paramiko": "the paramiko:// transport (paramiko)", "s3": "object stores' buckets (boto3)",
          "ansible": "hosts from an Ansible inventory (ansible-core)"}


class MissingExtra(DrillCouldNotRun):
    """A library of an extra is not installed: no verdict, and the extra to install is named."""


def install_hint(name: str, library: str) -> str:
    """How to add the extra ``name`` to an installed backup-drills: its libraries as its
    metadata pins them (no index holds backup-drills itself), or the wheel with the extra.

    >>> print(install_hint("s3", "boto3"))  # doctest: +NORMALIZE_WHITESPACE
    pip install 'boto3...' (or install the wheel with its extra:
    pip install './backup_drills-...-py3-none-any.whl[s3]')
    """
    try:
        version = metadata.version("backup-drills")
        required = metadata.requires("backup-drills") or []
    except metadata.PackageNotFoundError:  # a checkout on sys.path, not installed
        version, required = "VERSION", []
    marker = f'extra == "{name}"'
    pins = [req.split(";")[0].replace(" ", "") for req in required
            if ";" in req and req.replace("'", '"').split(";", 1)[1].strip() == marker]
    words = " ".join(shlex.quote(pin) for pin in pins) or shlex.quote(library)
    return (f"pip install {words} (or install the wheel with its extra: pip install "
            f"'./backup_drills-{version}-py3-none-any.whl[{name}]')")


@contextmanager
def extra(name: str, needed_for: str) -> Iterator[None]:
    """Imports inside the block come with the extra ``name``; a missing one is ``MissingExtra``."""
    if name not in EXTRAS:
        raise ValueError(f"expected one of {sorted(EXTRAS)}, got {name!r}")
    try:
        yield
    except ModuleNotFoundError as exc:
        library = exc.name or name
        raise MissingExtra(f"{needed_for} needs {library}, which is not installed (the extra "
                           f"[{name}] of backup-drills): {install_hint(name, library)}") from None
