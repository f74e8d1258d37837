"""borg's exclude semantics, exactly (its ``patterns.py``, ``shellpattern.py`` and the walk of
``borg create``; unchanged from borg 1.2.4 to 1.4.5): what a borg job leaves out of an
archive, so a drill expects in a restore just what borg keeps.

- A pattern's style is its ``xx:`` prefix: ``fm:`` (Python's ``fnmatch``, where ``*`` crosses
  ``/``; the default of ``--exclude``), ``sh:`` (shell style: ``*`` stays inside a component,
  ``**/`` spans directories; the default of a patterns file), ``re:`` (``re.search``),
  ``pp:`` (a path prefix) and ``pf:`` (the full path, nothing below it).
- Paths are matched without their leading ``/`` (archives hold ``flux/active/...``); the
  leading ``/`` of an ``fm:``, ``sh:``, ``pp:`` or ``pf:`` pattern is dropped, a ``re:``
  pattern is taken as written (so ``re:^/flux`` matches nothing).
- ``fm:``, ``sh:`` and ``pp:`` match a path or any path below it; a trailing ``/`` matches
  only what is below.
- A directory an ``--exclude`` matches is not descended into: all below it is left out.
- ``--exclude-caches`` leaves out a directory holding a ``CACHEDIR.TAG`` whose first 43 bytes
  are the signature; ``--exclude-if-present NAME`` one holding anything named NAME (borg's
  ``os.path.exists``: a link counts if its target exists); ``--keep-exclude-tags`` keeps such a
  directory itself and its tag files.

    >>> borg_excluded("/flux/active/render.tmp/frame-0001.bin", ["*.tmp"])
    True
    >>> [borg_excluded(p, ["sh:/flux/*/cache"]) for p in ("/flux/a/cache/x", "/flux/a/b/cache/x")]
    [True, False]
    >>> borg_excluded("/flux/active/docs/a.md", ["re:^/flux"])
    False
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

CACHE_TAG_NAME = "CACHEDIR.TAG"
CACHE_TAG_CONTENTS = b"Signature: 8a477f597d28d172789f06886806bc55"

EXCLUDE, EXCLUDE_NO_RECURSE, INCLUDE = "-", "!", "+"


class BorgPatternError(ValueError):
    """A pattern borg itself refuses (an unknown style, a patterns-file line without command)."""


def shell_translate(pattern: str, match_end: str = r"\Z") -> str:
    """borg's ``shellpattern.translate``: a shell-style pattern as a regular expression."""
    n, i, res = len(pattern), 0, ""
    while i < n:
        c = pattern[i]
        i += 1
        if c == "*":
            if i + 1 < n and pattern[i] == "*" and pattern[i + 1] == "/":
                res += r"(?:[^\/]*\/)*"
                i += 2
            else:
                res += r"[^\/]*"
        elif c == "?":
            res += r"[^\/]"
        elif c == "[":
            j = i
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                res += "\\["
            else:
                stuff = pattern[i:j].replace("\\", "\\\\")
                i = j + 1
                if stuff[0] == "!":
                    stuff = "^" + stuff[1:]
                elif stuff[0] == "^":
                    stuff = "\\" + stuff
                res += f"[{stuff}]"
        else:
            res += re.escape(c)
    return "(?ms)" + res + match_end


@dataclass(frozen=True)
class BorgPattern:
    """One pattern of one style; ``match`` takes a path as borg's matcher hands it on (no
    leading ``/``), or as borg's own pattern tests do."""

    style: str  # fm, sh, re, pp, pf
    original: str
    prepared: str
    recurse_dir: bool = True

    def match(self, path: str) -> bool:
        if self.style == "pf":
            return path == self.prepared
        if self.style == "pp":
            return (path + "/").startswith(self.prepared)
        if self.style == "re":
            return _regex(self.prepared).search(path) is not None
        return _regex(self.prepared).match(path + "/") is not None


@lru_cache(maxsize=4096)
def _regex(text: str) -> re.Pattern[str]:
    return re.compile(text)


def make_pattern(style: str, pattern: str, recurse_dir: bool = True) -> BorgPattern:
    """A pattern of ``style`` prepared as borg's ``PatternBase`` subclasses prepare it."""
    if style == "pf":
        prepared = posixpath.normpath(pattern).lstrip("/")
    elif style == "pp":
        prepared = (posixpath.normpath(pattern).rstrip("/") + "/").lstrip("/")
    elif style == "fm":
        glob = (posixpath.normpath(pattern).rstrip("/") + "/*/" if pattern.endswith("/")
                else posixpath.normpath(pattern) + "/*").lstrip("/")
        prepared = fnmatch.translate(glob)
    elif style == "sh":
        glob = (posixpath.normpath(pattern).rstrip("/") + "/**/*/" if pattern.endswith("/")
                else posixpath.normpath(pattern) + "/**/*").lstrip("/")
        prepared = shell_translate(glob)
    elif style == "re":
        prepared = pattern
    else:
        raise BorgPatternError(f"Unknown pattern style: {style}")
    if style in ("fm", "sh", "re"):
        try:
            _regex(prepared)
        except re.error as exc:
            raise BorgPatternError(f"borg pattern {style}:{pattern!r}: {exc}") from None
    return BorgPattern(style, pattern, prepared, recurse_dir)


def parse_pattern(text: str, fallback: str = "fm", recurse_dir: bool = True) -> BorgPattern:
    """borg's ``parse_pattern``: an ``xx:`` prefix names the style, else ``fallback``."""
    if len(text) > 2 and text[2] == ":" and text[:2].isalnum():
        return make_pattern(text[:2], text[3:], recurse_dir)
    return make_pattern(fallback, text, recurse_dir)


@dataclass(frozen=True)
class Rule:
    pattern: BorgPattern
    command: str  # EXCLUDE, EXCLUDE_NO_RECURSE or INCLUDE


def parse_exclude(text: str) -> Rule:
    """One ``--exclude`` value (or exclude-file line): not descended into once matched."""
    return Rule(parse_pattern(text, "fm", recurse_dir=False), EXCLUDE_NO_RECURSE)


def clean_lines(lines: Iterable[str]) -> list[str]:
    """borg's ``clean_lines``: stripped, without empty and ``#`` lines."""
    return [s for s in (line.strip() for line in lines) if s and not s.startswith("#")]


def load_exclude_lines(lines: Iterable[str]) -> list[Rule]:
    """An ``--exclude-from`` file's lines."""
    return [parse_exclude(line) for line in clean_lines(lines)]


@dataclass
class PatternFile:
    """What a ``--patterns-from`` file holds: roots (``R``) and rules (``+ - !``)."""

    roots: list[str]
    rules: list[Rule]


def load_pattern_lines(lines: Iterable[str], fallback: str = "sh") -> PatternFile:
    """A ``--patterns-from`` file's lines: ``P style`` switches the default style."""
    out = PatternFile([], [])
    for line in clean_lines(lines):
        command, value = line[0], line[1:].lstrip()
        if command not in "-!+RrPp":
            raise BorgPatternError("A pattern/command must start with any of: -, !, +, R, r, P, p")
        if not value:
            raise BorgPatternError("A pattern/command must have a value part.")
        if command in "Rr":
            out.roots.append(value)
        elif command in "Pp":
            if value not in ("fm", "sh", "re", "pp", "pf"):
                raise BorgPatternError(f"Invalid pattern style: {value}")
            fallback = value
        else:
            out.rules.append(Rule(parse_pattern(value, fallback, command != EXCLUDE_NO_RECURSE),
                                  command))
    return out


class PatternMatcher:
    """borg's ``PatternMatcher``: the first rule that matches decides; ``pf:`` rules are looked
    up before all others (borg's fast path, and so its semantics); ``fallback`` when none."""

    def __init__(self, rules: Iterable[Rule] = (), fallback: bool | None = None) -> None:
        self.fallback = fallback
        self.rules: list[Rule] = []
        self.full: dict[str, str] = {}
        self.recurse_dir: bool | None = None
        for rule in rules:
            self.add(rule)

    def add(self, rule: Rule) -> None:
        if rule.pattern.style == "pf":
            self.full[rule.pattern.prepared] = rule.command
        else:
            self.rules.append(rule)

    def match(self, path: str) -> bool | None:
        """True: kept (or included), False: excluded, else ``fallback``; sets ``recurse_dir``."""
        path = path.lstrip("/")
        command = self.full.get(path)
        if command is not None:
            self.recurse_dir = command != EXCLUDE_NO_RECURSE
            return command == INCLUDE
        for rule in self.rules:
            if rule.pattern.match(path):
                self.recurse_dir = rule.pattern.recurse_dir
                return rule.command == INCLUDE
        self.recurse_dir = True
        return self.fallback


def tags_from_names(names: Callable[[str], Iterable[str]], exclude_caches: bool,
                    exclude_if_present: Sequence[str]) -> Callable[[str], list[str]]:
    """A ``tagged`` for ``create_excluded`` when the directory's entries are enough to know
    (tests, and trees where no tag is a link): ``names(directory)`` lists the names in it, and
    a ``CACHEDIR.TAG`` counts as a tag whatever it holds (the caller checks its signature)."""
    def tagged(directory: str) -> list[str]:
        present = set(names(directory))
        tags = [CACHE_TAG_NAME] if exclude_caches and CACHE_TAG_NAME in present else []
        return tags + [tag for tag in exclude_if_present if tag in present]
    return tagged


def create_excluded(path: str, root: str, matcher: PatternMatcher,
                    is_dir: Callable[[str], bool] = lambda p: True,
                    tagged: Callable[[str], list[str]] = lambda d: [],
                    keep_exclude_tags: bool = False) -> bool:
    """Whether ``borg create ROOT`` leaves ``path`` (absolute, at or below ``root``) out of the
    archive: its ``_rec_walk`` followed from ``root`` down to ``path``. ``is_dir(p)`` says
    whether a path on the way is a directory (one not followed as a link); ``tagged(d)`` the tag
    names ``--exclude-caches``/``--exclude-if-present`` find in directory ``d``."""
    root = posixpath.normpath(root)
    path = posixpath.normpath(path)
    if path != root and not path.startswith(root.rstrip("/") + "/"):
        raise ValueError(f"{path} is not below {root}")
    below = [] if path == root else path[len(root):].strip("/").split("/")
    current = root
    for depth in range(len(below) + 1):
        last = depth == len(below)
        excluded_here = not matcher.match(current)
        if excluded_here and not matcher.recurse_dir:
            return True
        if excluded_here and (last or not is_dir(current)):
            return True
        if not is_dir(current):
            return False  # a file on the way: it is the path (last) and it is kept
        tags = tagged(current)
        if tags:
            if excluded_here or not keep_exclude_tags:
                return True
            # kept: the directory itself and its tag names (each walked as any entry is)
            if last:
                return False
            if below[depth] not in tags:
                return True
        if last:
            return False
        current = posixpath.join(current, below[depth])
    return False


def borg_excluded(path: str, excludes: Iterable[str], root: str | None = None) -> bool:
    """Whether ``borg create --exclude E... ROOT`` leaves ``path`` out (``root``: the path
    itself, so only the patterns on the way from it count, as for a path given on the
    command line; pass the job's source to follow borg's walk from there)."""
    matcher = PatternMatcher((parse_exclude(e) for e in excludes if e), fallback=True)
    return create_excluded(path, root or path, matcher) if root else not matcher.match(path)
