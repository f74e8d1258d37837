"""What a long restore has written so far, for the progress line a remote command logs every
30 seconds. Measured on the host with ``du``, not told by the tool: restic 0.14 (Debian 12)
prints no restore progress at all, and restic 0.16+ prints its JSON status only as the command
streams, which a captured command does not. The same measure serves restic, borg and rclone.

    >>> written_line(3 * 2**29, 3 * 2**30)
    '1.5 GiB of 3.0 GiB written (50%)'
    >>> written_line(5 * 2**20, None)
    '5.0 MiB written'
"""

from __future__ import annotations

import shlex
from collections.abc import Callable

from backup_drills.core.transport import Remote

UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def size(count: float) -> str:
    """``size(1536)`` is ``'1.5 KiB'``."""
    unit = 0
    while count >= 1024 and unit < len(UNITS) - 1:
        count, unit = count / 1024, unit + 1
    return f"{count:.0f} B" if unit == 0 else f"{count:.1f} {UNITS[unit]}"


def written_line(written: int, expected: int | None) -> str:
    """The progress of ``written`` bytes out of ``expected`` (None: not known beforehand)."""
    if not expected:
        return f"{size(written)} written"
    return f"{size(written)} of {size(expected)} written ({min(100, round(100 * written / expected))}%)"


def written_into(remote: Remote, target: str, expected: int | None = None) -> Callable[[], str]:
    """A progress reader for a restore into ``target``: each call measures the bytes under it
    (``du -sb``, at most 20 s) and says them against ``expected``."""

    def measure() -> str:
        result = remote.run(f"du -sb {shlex.quote(target)} 2>/dev/null", timeout=20)
        words = result.text.split()
        if not result.ok or not words or not words[0].isdigit():
            return "nothing written yet"
        return written_line(int(words[0]), expected)

    return measure
