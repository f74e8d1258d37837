"""restic's exclude semantics, exactly (its ``internal/filter``): what a restic job leaves out
of a snapshot, so a drill expects in a restore just what restic keeps.

- A pattern is split into path components; each is matched with Go's ``filepath.Match``
  (``*`` and ``?`` never cross ``/``; ``[...]`` with ``^`` to negate; ``\\`` escapes), and
  ``**`` stands for any number of components.
- An absolute pattern (``/flux/cache``) is anchored at the root; a relative one (``cache``,
  ``docs/*.md``) matches a run of components at any depth.
- The run need not reach the end of the path: a pattern that matches a directory excludes
  everything below it (restic does not descend into it), so ``*.tmp`` drops ``render.tmp/``.
- ``!pattern`` includes again what earlier patterns excluded.

    >>> restic_excluded("/flux/a/cache/x.bin", ["cache"])
    True
    >>> restic_excluded("/flux/render.tmp/frame-0001.bin", ["*.tmp"])
    True
    >>> [restic_excluded(p, ["docs/*.md"]) for p in ("/flux/docs/sub/keep.md", "/flux/docs/a.md")]
    [False, True]
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from functools import lru_cache


def _components(path: str) -> list[str]:
    """Go's ``filepath.Clean`` then split; an absolute path's first component is ``/``."""
    absolute = path.startswith("/")
    cleaned = posixpath.normpath(path).lstrip("/")
    parts = [] if cleaned in ("", ".") else cleaned.split("/")
    return ["/", *parts] if absolute else parts


@lru_cache(maxsize=4096)
def _component_regex(pattern: str) -> re.Pattern[str]:
    """One component of Go's ``filepath.Match`` as a regular expression."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        elif char == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1:i + 2] in ("^", "]") else i + 1)
            if end < 0:
                raise ValueError(f"restic pattern {pattern!r}: unclosed '['")
            body = pattern[i + 1:end]
            negate = body.startswith("^")
            body = body[1:] if negate else body
            out.append(f"[{'^' if negate else ''}{body.replace(chr(92), chr(92) * 2)}]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def _part_matches(pattern: str, component: str) -> bool:
    return pattern == component if not any(c in pattern for c in "\\[]*?") \
        else _component_regex(pattern).match(component) is not None


def _match(parts: list[str], strs: list[str]) -> bool:
    if "**" in parts:
        pos = parts.index("**")
        for extra in range(len(strs) - len(parts) + 2):
            expanded = parts[:pos] + ["*"] * extra + parts[pos + 1:]
            if _match(expanded, strs):
                return True
        return False
    if not parts:
        return not strs
    if len(parts) > len(strs):
        return False
    low, high = 0, len(strs) - len(parts)
    if parts[0] == "/":
        high = 0
    elif strs[0] == "/":
        low = 1
    return any(all(_part_matches(p, strs[offset + i]) for i, p in enumerate(parts))
               for offset in range(high, low - 1, -1))


def restic_match(pattern: str, path: str) -> bool:
    """restic's ``filter.Match``: the empty pattern matches everything."""
    if pattern == "":
        return True
    return _match(_components(pattern), _components(path))


def restic_excluded(path: str, patterns: Iterable[str]) -> bool:
    """restic's ``filter.List`` over an exclude list (``!`` includes again); ``path`` absolute,
    as restic sees it while backing up."""
    excluded = False
    for pattern in patterns:
        if not pattern:
            continue
        if pattern.startswith("!"):
            excluded = excluded and not restic_match(pattern[1:], path)
        else:
            excluded = excluded or restic_match(pattern, path)
    return excluded
