"""The rclone adapter for mirror jobs: copy back from the mirror, and ``check --one-way``.

    >>> mirror = Rclone(remote, job)                                  # doctest: +SKIP
    >>> mirror.check_one_way().differences                            # doctest: +SKIP
    []
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar, NoReturn

from backup_drills.adapters.tool import (
    BackupTool,
    CheckResult,
    RestoreFailed,
    RestoreResult,
    RetentionDryRun,
    Snapshot,
)
from backup_drills.core.progress import written_into
from backup_drills.core.retention import Rules, Stamp
from backup_drills.core.tool_errors import COULD_NOT_RUN, OBJECT_STORE, UNREACHABLE, ErrorTable
from backup_drills.core.transport import DrillCouldNotRun, Remote, argv
from backup_drills.inventory.schema import Job
from backup_drills.restores.manifest import nothing_left_out

_CHECK_EXIT = {0: "no differences", 1: "differences found"}
NO_SUCH_PATH = "directory not found"  # what rclone says of a bucket or path that is not there
# rclone's own words (the object store's codes and an unreachable host: the shared tables)
ERRORS = ErrorTable(
    says=((NO_SUCH_PATH, COULD_NOT_RUN, "no such bucket or path"),),
    findings=((NO_SUCH_PATH, "has no such bucket or path"),),
) + OBJECT_STORE + UNREACHABLE


@dataclass(frozen=True)
class MirrorCheck:
    differences: list[str]
    command: str
    seconds: float
    compared: int


@dataclass(frozen=True)
class CopyResult:
    remote_path: str
    target: str
    seconds: float
    command: str


class Rclone:
    """rclone against one mirror job's source and ``destination``; the ``BackupTool`` of
    ``backup_drills.adapters.tool`` (a mirror keeps one copy: no snapshots, nothing to retain)."""

    name: ClassVar[str] = "rclone"
    noun: ClassVar[str] = "mirror"
    newest: ClassVar[str] = "mirror"
    backend: ClassVar[str] = "bucket"
    prune: ClassVar[str] = "rclone"
    ERRORS: ClassVar[ErrorTable] = ERRORS

    def __init__(self, remote: Remote, job: Job) -> None:
        if job.destination is None or job.source is None:
            raise ValueError(f"job {job.name} needs source and destination")
        self.remote, self.job = remote, job
        self.destination, self.source = job.destination.rstrip("/"), job.source

    def _excludes(self) -> list[str]:
        return [word for pattern in self.job.excludes for word in ("--exclude", pattern)]

    def kept(self) -> frozenset[str]:
        """The source's files (relative paths) that rclone itself transfers with the job's
        filters: what the mirror should hold, by rclone's own rules (``rclone lsf``)."""
        words = ("rclone", "lsf", "-R", "--files-only", *self._excludes(), self.source)
        listed = self.remote.run(argv(*words), timeout=1800)
        if not listed.ok:
            raise DrillCouldNotRun(f"host {self.remote.name}, job {self.job.name}: `{argv(*words)}` "
                                   f"exited {listed.exit_status}: {listed.tail(3)}")
        return frozenset(listed.text.splitlines())

    def _path(self, relative: str) -> str:
        inside = relative.strip("/")
        return self.destination if inside in ("", ".") else f"{self.destination}/{inside}"

    def copy(self, relative: str, target: str, is_file: bool, expected: int | None = None) -> CopyResult:
        """Copy one file (``copyto``) or one directory (``.``: all of it) from the mirror into
        ``target``; every 30 s the log says how much of ``expected`` bytes it has written."""
        remote_path = self._path(relative)
        words = ("rclone", "copyto" if is_file else "copy", remote_path, target)
        result = self.remote.run(self.remote.with_credentials(words, self.job), timeout=4 * 3600,
                                 progress=written_into(self.remote, target, expected))
        if not result.ok:
            raise RestoreFailed(f"host {self.remote.name}, job {self.job.name}: `{argv(*words)}` "
                                f"exited {result.exit_status}: {result.tail(4)}")
        return CopyResult(remote_path, target, result.seconds, argv(*words))

    def size(self, relative: str = ".") -> int:
        """Bytes the mirror holds (``rclone size --json``), or one path of it: what a restore
        of it writes."""
        words = ("rclone", "size", "--json", self._path(relative))
        result = self.remote.run(self.remote.with_credentials(words, self.job), timeout=3600)
        if not result.ok:
            raise DrillCouldNotRun(f"host {self.remote.name}: `{argv(*words)}` exited "
                                   f"{result.exit_status}: {result.tail(4)}")
        return int(json.loads(result.text)["bytes"])

    def check_one_way(self, since: datetime | None = None) -> MirrorCheck:
        """Every source file must be in the mirror with the same content; with ``since`` (when
        the last mirror run started), files modified after it are left out (``--min-age``): the
        mirror cannot hold them yet."""
        age = [] if since is None else [
            "--min-age", f"{max(0, int((datetime.now(UTC) - since).total_seconds()))}s"]
        words = ("rclone", "check", "--one-way", self.source, self.destination,
                 "--combined", "-", *age, *self._excludes())
        result = self.remote.run(self.remote.with_credentials(words, self.job), timeout=4 * 3600)
        if result.exit_status not in _CHECK_EXIT:
            raise DrillCouldNotRun(f"host {self.remote.name}: `{argv(*words)}` exited "
                                   f"{result.exit_status}: {result.tail(4)}")
        lines = [line for line in result.text.splitlines() if line]
        # rclone's --combined: "+" only in the source, "*" differs, "!" error while checking
        labels = {"+": "missing from the mirror", "*": "differs in the mirror",
                  "!": "could not be checked"}
        differences = [f"{labels[line[0]]}: {self.source}/{line[2:]}" for line in lines
                       if line[:1] in labels]
        if result.exit_status == 1 and not differences:
            differences = [f"rclone reported differences: {result.tail(4)}"]
        return MirrorCheck(differences, argv(*words), result.seconds, len(lines))

    @classmethod
    def probe_words(cls, address: str, limit: float, job: Job | None = None) -> list[str]:
        """``rclone lsf --max-depth 1`` of the bucket, with rclone's own retries cut short."""
        return ["rclone", "lsf", "--max-depth", "1", "--contimeout", "10s", "--timeout",
                f"{int(limit) - 5}s", "--low-level-retries", "1", "--retries", "1", address]

    def _none(self, what: str) -> NoReturn:
        raise DrillCouldNotRun(f"host {self.remote.name}, job {self.job.name}: an rclone mirror "
                               f"keeps one copy, no {what}")

    def snapshots(self) -> list[Snapshot]:
        self._none("snapshots")

    def check(self, read_data: str | None = None) -> CheckResult:
        """``rclone check --one-way`` (it reads every file's hash, whatever ``read_data``)."""
        found = self.check_one_way()
        return CheckResult(not found.differences, found.differences, found.command, found.seconds,
                           "rclone check --one-way", "found differences")

    def restore_stats(self, snapshot: Snapshot | None = None) -> tuple[int, int]:
        """(bytes, files) the mirror holds (``rclone size --json``)."""
        words = ("rclone", "size", "--json", self._path("."))
        result = self.remote.run(self.remote.with_credentials(words, self.job), timeout=3600)
        if not result.ok:
            raise DrillCouldNotRun(f"host {self.remote.name}: `{argv(*words)}` exited "
                                   f"{result.exit_status}: {result.tail(4)}")
        sized = json.loads(result.text)
        return int(sized["bytes"]), int(sized.get("count") or 0)

    def restore(self, snapshot: Snapshot, target: str, includes: tuple[str, ...] = (), /, *,
                expected: int | None = None, verify: bool = False) -> RestoreResult:
        """The whole mirror copied into ``target`` + the source's path (single paths: ``copy``)."""
        if includes:
            raise DrillCouldNotRun(f"host {self.remote.name}, job {self.job.name}: single paths "
                                   "come back from the mirror with copy(), not restore()")
        copied = self.copy(".", f"{target}{self.source}", False, expected)
        return RestoreResult(snapshot, target, copied.seconds, copied.command)

    def left_out(self, kinds: Callable[[str], str | None]) -> Callable[[str], bool]:
        """What the mirror leaves out by the job's ``excludes``, by rclone's own rules: every
        file ``rclone lsf`` with those filters does not list (``kept``)."""
        if not self.job.excludes:
            return nothing_left_out
        kept = self.kept()
        return lambda relative: relative not in kept

    def retention_stamps(self, found: Sequence[Snapshot]) -> list[Stamp]:
        self._none("history to retain")

    def rules(self) -> Rules:
        self._none("history to retain")

    def retention_dry_run(self, stamps: Sequence[Stamp], found: Sequence[Snapshot]) -> RetentionDryRun:
        self._none("history to retain")


_CONFORMS: type[BackupTool] = Rclone  # mypy holds the class to the protocol
