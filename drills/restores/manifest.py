"""Tree manifests hashed on the host that holds the tree, compared on the runner.

One remote command lists a tree (type, size, mtime, link target) and hashes its files on every
core of the host (files over 1 MiB with ``openssl dgst -sha256`` where the host has it, the rest
with ``sha256sum``); only the manifest crosses the wire, never file contents.

    >>> source = hash_tree(remote, "/flux")                               # doctest: +SKIP
    >>> restored = hash_tree(remote, "/var/tmp/backup-drill/drill-x/flux") # doctest: +SKIP
    >>> compare(source, restored, snapshot_time=snap.time).identical      # doctest: +SKIP
    True

"Byte-identical" follows DESIGN principle 2: every entry unchanged in the source since the
snapshot time must match byte for byte; entries changed later are reported, not failed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from backup_drills.core.transport import DrillCouldNotRun, Remote, script
from backup_drills.outcomes import NotCompliant

_SEPARATOR = b"--HASHES--"


@dataclass(frozen=True)
class Entry:
    kind: str  # f (file), l (symlink), d (directory)
    size: int
    mtime: float
    link: str = ""
    sha256: str = ""


@dataclass(frozen=True)
class Manifest:
    host: str
    root: str
    entries: dict[str, Entry]
    seconds: float

    @property
    def files(self) -> int:
        return sum(1 for e in self.entries.values() if e.kind == "f")

    @property
    def bytes(self) -> int:
        return sum(e.size for e in self.entries.values() if e.kind == "f")


_NO_ROOT = 44
_LINKED_ROOT = 46  # the restored root is (or lies below) a symlink the backup recorded


def _command(root: str, subpaths: Iterable[str], parallel: int, missing_ok: bool) -> str:
    """The listing and hashing of ``subpaths`` of ``root`` (``drills/scripts/hash-tree.sh``),
    every value a positional parameter; each subpath is given as ``./<path>`` (or ``.``), so no
    name is ever taken for an option of ``find``."""
    targets = [f"./{p.strip('/')}" if p.strip("/") not in ("", ".") else "." for p in subpaths]
    return script("hash-tree", root, str(parallel), "yes" if missing_ok else "no",
                  _SEPARATOR.decode(), *targets)


def hash_tree(remote: Remote, root: str, subpaths: Iterable[str] = (".",),
              parallel: int = 0, timeout: float = 3600, missing_ok: bool = False) -> Manifest:
    """Manifest of ``root`` (or of ``subpaths`` below it), hashed on the host, ``parallel``
    hashers at a time (0: one per core of the host).

    With ``missing_ok`` (the restored side), a missing root or subpath is simply absent from
    the manifest; otherwise (the source side) it means the drill cannot run."""
    result = remote.run(_command(root, list(subpaths), parallel, missing_ok), timeout=timeout)
    if missing_ok and result.exit_status == _NO_ROOT:
        return Manifest(remote.name, root, {}, result.seconds)
    if result.exit_status == _LINKED_ROOT:
        raise NotCompliant(f"host {remote.name}: the restored {root} is a symlink the backup "
                           f"recorded, not the tree: {result.tail(2)}")
    if not result.ok:
        why = "no such directory" if result.exit_status == _NO_ROOT else result.tail(4)
        raise DrillCouldNotRun(f"host {remote.name}: cannot hash {root}: {why}")
    listing, _, hashes = result.stdout.partition(b"\0" + _SEPARATOR + b"\0")
    if listing.startswith(_SEPARATOR):
        listing, hashes = b"", result.stdout[len(_SEPARATOR) + 1:]
    fields = listing.split(b"\0")
    sums: dict[str, str] = {}
    for record in hashes.split(b"\0"):
        if record:
            digest, _, name = record.partition(b"  ")
            sums[_rel(name)] = digest.decode()
    entries: dict[str, Entry] = {}
    for i in range(0, len(fields) - 4, 5):
        kind, size, mtime, name, link = fields[i:i + 5]
        path = _rel(name)
        if path == "":
            continue
        entries[path] = Entry(kind.decode(), int(size), float(mtime),
                              link.decode("utf-8", "surrogateescape"), sums.get(path, ""))
    return Manifest(remote.name, root, entries, result.seconds)


def _rel(name: bytes) -> str:
    text = name.decode("utf-8", errors="surrogateescape")
    return text[2:] if text.startswith("./") else ("" if text == "." else text)


@dataclass
class Comparison:
    """Source against restored tree; lists name every path that differs."""

    host: str
    job: str
    source_root: str
    restored_root: str
    compared: int = 0
    compared_bytes: int = 0
    missing: list[str] = field(default_factory=list)
    differing: list[str] = field(default_factory=list)
    changed_after: list[str] = field(default_factory=list)
    only_in_restore: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.missing and not self.differing

    def describe(self, limit: int = 25) -> str:
        head = (f"host {self.host}, job {self.job}: restore of {self.source_root} into "
                f"{self.restored_root}: {self.compared} entries compared")
        lines = [head]
        for label, paths in (("differs from the source (unchanged since the backup)",
                              self.differing),
                             ("missing from the restore", self.missing),
                             ("changed in the source after the backup (reported, not failed)",
                              self.changed_after),
                             ("in the restore but no longer in the source", self.only_in_restore)):
            if paths:
                lines.append(f"  {len(paths)} {label}:")
                lines += [f"    {self.source_root.rstrip('/')}/{p}" for p in sorted(paths)[:limit]]
                if len(paths) > limit:
                    lines.append(f"    ... and {len(paths) - limit} more")
        return "\n".join(lines)


def entry_named(entries: dict[str, Entry], path: str) -> Entry | None:
    r"""The entry of ``path``. A name a tool's JSON printed with U+FFFD for each byte that was
    not UTF-8 (restic, as Go's encoder does) matches the one entry whose undecodable bytes
    (surrogate-escaped in a manifest) stand in those places; two such candidates match none.

    >>> entries = {"d/\udcff\udcfe": Entry("f", 1, 0.0, "", "")}
    >>> entry_named(entries, "d/\ufffd\ufffd") is entries["d/\udcff\udcfe"]
    True
    """
    found = entries.get(path)
    if found is not None or "\ufffd" not in path:
        return found
    pattern = re.compile("".join("[\udc80-\udcff]" if c == "\ufffd" else re.escape(c) for c in path))
    hits = [entry for name, entry in entries.items() if pattern.fullmatch(name)]
    return hits[0] if len(hits) == 1 else None


def nothing_left_out(path: str) -> bool:
    """The default of ``compare``: the backup keeps every path."""
    return False


def compare(source: Manifest, restored: Manifest, snapshot_time: datetime, job: str,
            left_out: Callable[[str], bool] = nothing_left_out, kinds: str = "fld") -> Comparison:
    """Compare per DESIGN principle 2; ``left_out(relative path)`` says what the backup tool's
    own rules keep out of the backup (so it is not expected back); ``kinds`` limits which
    entry types count."""
    cutoff = snapshot_time.timestamp()
    result = Comparison(source.host, job, source.root, restored.root)
    for path, want in source.entries.items():
        if want.kind not in kinds or left_out(path):
            continue
        got = restored.entries.get(path)
        later = want.mtime > cutoff
        if got is None:
            (result.changed_after if later else result.missing).append(path)
            continue
        result.compared += 1
        same = (got.kind == want.kind and got.sha256 == want.sha256 and got.link == want.link
                and (want.kind != "f" or got.size == want.size))
        if same:
            result.compared_bytes += want.size if want.kind == "f" else 0
        else:
            (result.changed_after if later else result.differing).append(path)
    result.only_in_restore = [p for p, e in restored.entries.items()
                              if e.kind in kinds and p not in source.entries
                              and not left_out(p)]
    return result
