"""Durations as operators write them in inventories: ``26h``, ``7d``, ``15m``, ``1h30m``, ``90s``.

    >>> parse_duration("1h30m")
    datetime.timedelta(seconds=5400)
    >>> human(parse_duration("26h"))
    '26h'
    >>> parse_duration("26")
    Traceback (most recent call last):
    ValueError: expected a duration such as 26h, ... got '26': a number alone says neither seconds nor hours
"""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|s|ms)")
_UNITS = {"w": 604800.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(text: str) -> timedelta:
    """Parse ``3d12h``-style text; raise ValueError naming what was expected."""
    compact = text.strip().lower().replace(" ", "")
    parts = _PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"expected a duration such as 26h, 7d, 15m or 1h30m, got {text!r}"
                         f"{_why(compact)}")
    return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))


def _why(compact: str) -> str:
    if re.fullmatch(r"[+-]?\d+(\.\d+)?", compact):
        return ": a number alone says neither seconds nor hours"
    if compact.startswith("-"):
        return ": a duration is above zero"
    return ""


def human(delta: timedelta) -> str:
    """Compact rendering: ``1d2h``, ``26h``, ``4m12s``, ``0.8s``."""
    seconds = delta.total_seconds()
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    if whole % 86400 == 0:
        return f"{whole // 86400}d"
    out = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        if whole >= size:
            out.append(f"{whole // size}{unit}")
            whole %= size
    return "".join(out)


def human_seconds(seconds: float) -> str:
    """``human`` for a number of seconds: ``human_seconds(5400)`` is ``'1h30m'``."""
    return human(timedelta(seconds=seconds))
