"""The rclone adapter for mirror jobs: copy back from the mirror, and ``check --one-way``.

    >>> mirror = Rclone(remote, job)                                  # doctest: +SKIP
    >>> mirror.check_one_way().differences                            # doctest: +SKIP
    []
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from drills.adapters.restic import RestoreFailed
from drills.core.progress import written_into
from drills.core.transport import DrillCouldNotRun, Remote, argv
from drills.inventory.schema import Job

_CHECK_EXIT = {0: "no differences", 1: "differences found"}


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
        result = self.remote.run(self.remote.with_credentials(words), timeout=4 * 3600,
                                 progress=written_into(self.remote, target, expected))
        if not result.ok:
            raise RestoreFailed(f"host {self.remote.name}, job {self.job.name}: `{argv(*words)}` "
                                f"exited {result.exit_status}: {result.tail(4)}")
        return CopyResult(remote_path, target, result.seconds, argv(*words))

    def size(self, relative: str = ".") -> int:
        """Bytes the mirror holds (``rclone size --json``), or one path of it: what a restore
        of it writes."""
        words = ("rclone", "size", "--json", self._path(relative))
        result = self.remote.run(self.remote.with_credentials(words), timeout=3600)
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
        result = self.remote.run(self.remote.with_credentials(words), timeout=4 * 3600)
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
