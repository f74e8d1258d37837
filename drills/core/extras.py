"""Optional libraries, installed with an extra of the package: a missing one is named with the
extra that brings it, so the message says what to run.

    >>> with extra("paramiko", "a paramiko:// host"):
    ...     import no_such_library_of_the_paramiko_extra
    Traceback (most recent call last):
    ...
    backup_drills.core.extras.MissingExtra: a paramiko:// host needs no_such_library_of_the_paramiko_extra, \
which is not installed: pip install 'backup-drills[paramiko]'
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from backup_drills.core.transport import DrillCouldNotRun

EXTRAS = {"paramiko": "the paramiko:// transport (paramiko)", "s3": "object stores' buckets (boto3)"}


class MissingExtra(DrillCouldNotRun):
    """A library of an extra is not installed: no verdict, and the extra to install is named."""


@contextmanager
def extra(name: str, needed_for: str) -> Iterator[None]:
    """Imports inside the block come with the extra ``name``; a missing one is ``MissingExtra``."""
    if name not in EXTRAS:
        raise ValueError(f"expected one of {sorted(EXTRAS)}, got {name!r}")
    try:
        yield
    except ModuleNotFoundError as exc:
        raise MissingExtra(f"{needed_for} needs {exc.name}, which is not installed: "
                           f"pip install 'backup-drills[{name}]'") from None
