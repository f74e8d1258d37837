"""BorgBackup against one job's repository (``kind: borg``), credentials (``BORG_PASSPHRASE``)
from the host's own env file. Reads bypass borg's lock, as restic's ``--no-lock`` does, so a
drill never blocks the estate's own ``borg create``; ``borg check`` waits a bounded time for the
lock it needs. Times are read with ``TZ=UTC``: borg prints archive times in the host's local
time, without an offset.

    >>> borg = Borg(remote, job)                               # doctest: +SKIP
    >>> [a.short_id for a in borg.archives()][-1]              # doctest: +SKIP
    'motoko-2026-11-29T03:30:00'
    >>> parse_archives('{"archives": [{"name": "m-1", "id": "ab12", "start": "2026-11-29T03:30:00.000000"}]}',
    ...                "motoko", "/flux/active")[0].time.isoformat()
    '2026-11-29T03:30:00+00:00'
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from drills.adapters.restic import RestoreResult, Snapshot
from drills.core.progress import written_into
from drills.core.tool_errors import COULD_NOT_RUN, RepositoryDamaged, failure, judge, said
from drills.core.transport import DrillCouldNotRun, Remote, Result, argv
from drills.inventory.schema import Job

LOCK_WAIT = 30  # seconds borg check waits for the repository lock (the estate's job may hold it)


def parse_archives(text: str, host: str, source: str) -> list[Snapshot]:
    """``borg list --json`` (run with TZ=UTC) as snapshots, oldest first: the archive's name
    is its short ID, its start its time."""
    try:
        listed: dict[str, Any] = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DrillCouldNotRun(f"host {host}: `borg list --json` printed no JSON ({exc})") from None
    archives = []
    for entry in listed.get("archives", []):
        start = datetime.fromisoformat(str(entry["start"]))
        archives.append(Snapshot(id=str(entry["id"]), short_id=str(entry["name"]),
                                 time=start if start.tzinfo else start.replace(tzinfo=UTC),
                                 hostname=host, paths=[source]))
    return sorted(archives, key=lambda a: a.time)


class Borg:
    """borg against one job's repository (a path on the host, or ``ssh://...`` as borg takes)."""

    def __init__(self, remote: Remote, job: Job) -> None:
        if job.repository is None:
            raise ValueError(f"job {job.name} has no repository")
        self.remote, self.job, self.repository = remote, job, job.repository

    def _run(self, *words: str, cwd: str | None = None, timeout: float | None = None,
             local: bool = False, progress: Callable[[], str] | None = None) -> Result:
        place = ("-C", cwd) if cwd else ()
        zone = () if local else ("TZ=UTC",)
        command = ("env", *place, *zone, "BORG_RELOCATED_REPO_ACCESS_IS_OK=no", "borg", *words)
        return self.remote.run(self.remote.with_credentials(command), timeout=timeout, progress=progress)

    def _listed(self, local: bool = False) -> str:
        """``borg list --json`` of the repository (times in UTC, or ``local``: the host's own)."""
        result = self._run("list", "--json", "--bypass-lock", self.repository, local=local)
        if not result.ok:
            raise self._failure(f"borg list {self.repository}", result)
        return result.text

    def _failure(self, command: str, result: Result) -> Exception:
        """A failed read, in borg's own words: damage (NOT COMPLIANT) or COULD NOT RUN."""
        return failure(f"host {self.remote.name}, job {self.job.name}", command,
                       f"{result.stderr}\n{result.text}", result.exit_status)

    def archives(self) -> list[Snapshot]:
        """Every archive of the repository, oldest first."""
        return parse_archives(self._listed(), self.remote.name, str(self.job.source))

    def local_times(self) -> dict[str, datetime]:
        """Each archive's start in the host's own local time (what ``borg prune`` buckets by),
        by archive name."""
        return {str(entry["name"]): datetime.fromisoformat(str(entry["start"])).replace(tzinfo=None)
                for entry in json.loads(self._listed(local=True)).get("archives", [])}

    def check(self, verify_data: bool = False, timeout: float = 4 * 3600) -> Result:
        """``borg check`` of the repository and its archives (``--verify-data``: every chunk
        read and authenticated)."""
        words = ["check", "--lock-wait", str(LOCK_WAIT), *(["--verify-data"] if verify_data else []),
                 self.repository]
        return self._run(*words, timeout=timeout)

    def original_size(self, archive: Snapshot) -> int:
        """Bytes the archive restores to (``borg info --json``)."""
        result = self._run("info", "--json", "--bypass-lock", f"{self.repository}::{archive.short_id}")
        if not result.ok:
            raise self._failure(f"borg info {self.repository}::{archive.short_id}", result)
        info = json.loads(result.text)
        return int(info["archives"][0]["stats"]["original_size"])

    def extract(self, archive: Snapshot, target: str, timeout: float = 4 * 3600,
                expected: int | None = None) -> RestoreResult:
        """``borg extract`` of the whole archive into ``target`` (borg stores paths without their
        leading slash: /flux/active comes back as ``target``/flux/active); every 30 s the log
        says how much of ``expected`` bytes it has written."""
        location = f"{self.repository}::{archive.short_id}"
        result = self._run("extract", "--bypass-lock", location, cwd=target, timeout=timeout,
                           progress=written_into(self.remote, target, expected))
        command = f"{argv('cd', target)} && {argv('borg', 'extract', location)}"
        if not result.ok:  # a restore that stops is a verdict on the backup, unless borg could not open it
            output = f"{result.stderr}\n{result.text}"
            judgement = judge(output)
            if judgement is not None and judgement.kind == COULD_NOT_RUN:
                raise self._failure(command, result)
            means = f", {judgement.means}" if judgement else ""
            raise RepositoryDamaged(f"host {self.remote.name}, job {self.job.name}: `{command}` exited "
                                    f"{result.exit_status}{means}:\n  "
                                    + "\n  ".join(said(output, result.exit_status).splitlines()), output)
        return RestoreResult(archive, target, result.seconds, command)
