"""The one protocol every backup tool implements (restic, borg, rclone), and the records its
methods return. A job's tool is chosen through the kind registry (``Kind.tool``, the class as
``module:Class``), never by comparing kind strings: verdicts and restores ask ``tool_for``.

    >>> _load(KINDS["borg"].tool).__name__, _load(KINDS["borg"].tool).noun
    ('Borg', 'archive')
    >>> _load(KINDS["redis-rdb"].tool).backend     # a dump kept in a restic repository
    'restic repository'

What a new tool implements, and what uses it:

- ``probe_words`` (class method): the cheapest command that proves a repository opens (the
  up-front probe of ``backup_drills.core.backends``), and ``backend``: how the probe names it;
- ``snapshots``: its snapshots or archives as ``Snapshot`` records, oldest first (freshness,
  shrink, restore: ``backup_drills.adapters.readings.BACKUPS``);
- ``check``: its integrity check, ``read_data`` reading data (a subset, or all: ``"all"``), as
  one ``CheckResult``;
- ``restore_stats`` and ``restore``: what a restore writes, and the restore into scratch;
- ``left_out``: its exclude semantics, a predicate on paths relative to the job's source;
- ``ERRORS``: its own words (``backup_drills.core.tool_errors.ErrorTable``): what its failed output
  says (damage, or could not run), what a failed probe means, the lines that never name a
  problem; the shared code (``tool_errors``, ``backends``) only applies a tool's table;
- ``retention_stamps``, ``rules``, ``retention_dry_run``: the snapshots as its retention
  rules read them, those rules, and its own dry run parsed to the IDs it keeps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast, runtime_checkable

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from backup_drills.inventory.kinds import KINDS
from backup_drills.outcomes import RestoreFailed as RestoreFailed  # its old import path, for the tools

if TYPE_CHECKING:
    from backup_drills.adapters.rclone import CopyResult, MirrorCheck
    from backup_drills.adapters.restic import Lock
    from backup_drills.core.retention import Rules, Stamp
    from backup_drills.core.tool_errors import ErrorTable
    from backup_drills.core.transport import Remote
    from backup_drills.inventory.schema import Job


class Snapshot(BaseModel):
    """One snapshot (restic) or archive (borg), as every verdict reads it: ``short_id`` is how
    the tool names it to a person (restic's short ID, borg's archive name)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    short_id: str
    time: AwareDatetime
    hostname: str
    paths: list[str]
    tags: list[str] = Field(default_factory=list)

    def age(self, now: datetime | None = None) -> float:
        return ((now or datetime.now(UTC)) - self.time).total_seconds()


@dataclass(frozen=True)
class CheckResult:
    """A tool's integrity check: ``what`` it ran (``restic check --read-data-subset=10%``),
    whether it ``passed``, and when not, ``failed`` (how it failed: ``failed``, ``failed (exit 1),
    a segment is missing``) and the ``errors`` lines that name the problem; ``output`` is the
    full output attached to the report (empty when the lines are all of it)."""

    passed: bool
    errors: list[str]
    command: str
    seconds: float
    what: str = ""
    failed: str = "failed"
    output: str = ""


@dataclass(frozen=True)
class RestoreResult:
    snapshot: Snapshot
    target: str
    seconds: float
    command: str


@dataclass(frozen=True)
class RetentionDryRun:
    """The tool's own retention dry run (``restic forget --dry-run``): the IDs it ``kept``
    (stamp IDs), and ``ours``, what this suite's rules keep as that tool's version counts."""

    command: str
    kept: set[str]
    ours: set[Stamp]


class BackupTool(Protocol):
    """One backup tool against one job's repository (or mirror)."""

    name: ClassVar[str]  # as its commands are named: "restic"
    noun: ClassVar[str]  # what it keeps: "snapshot", "archive"
    newest: ClassVar[str]  # how a freshness verdict names the newest: "latest snapshot"
    backend: ClassVar[str]  # how the probe names its backend: "restic repository"
    prune: ClassVar[str]  # its own retention command, as messages name it: "restic forget"
    ERRORS: ClassVar[ErrorTable]  # its own words: what its failures say and mean, its noise
    remote: Remote
    job: Job

    def __init__(self, remote: Remote, job: Job) -> None: ...

    @classmethod
    def probe_words(cls, address: str, limit: float, job: Job | None = None) -> list[str]:
        """The cheapest command that proves ``address`` opens, within ``limit`` seconds (as
        ``job``, the first job of the run that keeps it, reaches it)."""
        ...

    def snapshots(self) -> list[Snapshot]:
        """The job's snapshots (archives), oldest first."""
        ...

    def check(self, read_data: str | None = None, /) -> CheckResult:
        """The tool's check; ``read_data``: a subset of the data (``10%``, ``2/4``) or ``all``."""
        ...

    def restore_stats(self, snapshot: Snapshot) -> tuple[int, int]:
        """(bytes, files) a full restore of ``snapshot`` writes."""
        ...

    def restore(self, snapshot: Snapshot, target: str, includes: tuple[str, ...] = (), /, *,
                expected: int | None = None, verify: bool = False) -> RestoreResult:
        """Restore ``snapshot`` (only ``includes``, absolute paths, when given) into ``target``:
        the source comes back as ``target`` + its path."""
        ...

    def left_out(self, kinds: Callable[[str], str | None]) -> Callable[[str], bool]:
        """What a backup of the job leaves out, by path relative to its source (``kinds``: an
        entry's type there, ``d`` a directory)."""
        ...

    def retention_stamps(self, found: Sequence[Snapshot]) -> list[Stamp]:
        """``found`` as the tool's retention rules read them (the periods' times, the
        snapshots those rules apply to)."""
        ...

    def rules(self) -> Rules:
        """The tool's retention rules (``backup_drills.core.retention``)."""
        ...

    def retention_dry_run(self, stamps: Sequence[Stamp], found: Sequence[Snapshot]) -> RetentionDryRun:
        """The tool's own dry run of the job's retention policy."""
        ...


@runtime_checkable
class RestoresFiles(Protocol):
    """A tool that lists a snapshot's files and restores a chosen list of them (the restore
    rotation, ``backup_drills.restores.rotation``): restic, borg."""

    def files(self, snapshot: Snapshot) -> dict[str, int]:
        """Every regular file of ``snapshot`` under the job's source, by path relative to it,
        with its size."""
        ...

    def restore_files(self, snapshot: Snapshot, target: str, relatives: Sequence[str],
                      timeout: float) -> RestoreResult:
        """Restore exactly ``relatives`` (paths relative to the source, taken literally,
        whatever they hold) of ``snapshot`` into ``target`` (the source comes back as
        ``target`` + its path), within ``timeout`` seconds."""
        ...


@cache
def _load(path: str) -> type[BackupTool]:
    module, _, name = path.partition(":")
    return cast("type[BackupTool]", getattr(import_module(module), name))


def tool_class(job: Job) -> type[BackupTool]:
    """The tool that keeps ``job``'s backups, as its kind declares."""
    return _load(KINDS[job.kind].tool)


def tool_for(remote: Remote, job: Job) -> BackupTool:
    """The job's tool against its repository (or mirror), from ``remote``."""
    return tool_class(job)(remote, job)


def every_tool() -> list[type[BackupTool]]:
    """Every tool the registry names, once (the probe finds a backend's tool among them)."""
    return list(dict.fromkeys(_load(kind.tool) for kind in KINDS.values()))


class NotSupported(Exception):
    """The job's tool does not do what a scenario asks (an rclone mirror keeps no snapshots to
    diff, borg reads no subset of its data): the scenario is skipped, naming why; never a
    verdict on the backup, never COULD NOT RUN."""


@dataclass(frozen=True)
class Listing:
    """One path of a snapshot with its whole subtree, as the tool lists it: each regular file
    with its size (``files``), each other entry, the path itself when it is a folder, by its
    type (``others``: ``dir``, ``symlink``...). Nothing in either: the snapshot lacks the path.

    >>> Listing({"/flux/a/b/c.txt": 5}, {"/flux/a": "dir", "/flux/a/b": "dir"}).folders
    2
    """

    files: dict[str, int]
    others: dict[str, str]

    @property
    def folders(self) -> int:
        return sum(kind == "dir" for kind in self.others.values())


@runtime_checkable
class FindsPaths(Protocol):
    """A tool that lists one path of a snapshot (``restic find``, ``restic ls``); ``ls`` and
    ``listing`` list its whole subtree, not a folder's direct children only."""

    def find(self, snapshot: Snapshot, path: str) -> list[dict[str, object]]: ...

    def ls(self, snapshot: Snapshot, path: str) -> dict[str, int]: ...

    def listing(self, snapshot: Snapshot, path: str) -> Listing: ...


@runtime_checkable
class DiffsSnapshots(Protocol):
    """A tool that lists what changed between two snapshots: (``+ - M T U``, path)."""

    def diff(self, older: Snapshot, newer: Snapshot) -> list[tuple[str, str]]: ...


@runtime_checkable
class ReadsSubsets(Protocol):
    """A tool whose check reads a chosen subset of the data (``10%``, a slice ``2/4``)."""

    def check_subset(self, subset: str) -> CheckResult: ...


@runtime_checkable
class HoldsLocks(Protocol):
    """A tool whose repository lists the locks its commands hold, and tells one whose holder
    is gone (a process of this host that no longer runs)."""

    def locks(self) -> list[Lock]: ...

    def holder_gone(self, lock: Lock) -> bool: ...


@runtime_checkable
class Mirrors(Protocol):
    """A tool that keeps one copy of the source (a mirror): its size, a path of it copied back,
    the one-way check of the source against it (files modified after ``since`` left out)."""

    def size(self, relative: str = ".") -> int: ...

    def copy(self, relative: str, target: str, is_file: bool, expected: int | None = None
             ) -> CopyResult: ...

    def check_one_way(self, since: datetime | None = None) -> MirrorCheck: ...


def capable(tool: BackupTool, capability: type[Any], lacks: str) -> Any:
    """``tool`` as having ``capability`` (one of the protocols above: assign it to a variable
    of that type), else ``NotSupported`` naming the host, the job, the tool and what it
    ``lacks`` ("cannot list what changed between two snapshots")."""
    if not isinstance(tool, capability):
        raise NotSupported(f"host {tool.remote.name}, job {tool.job.name}: {tool.name} {lacks}")
    return tool
