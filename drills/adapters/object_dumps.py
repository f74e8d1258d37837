"""Dumps kept in an object store by tier (254Carbon: ``backups/postgres/<tier>/``), listed with
rclone on the job's host (credentials from its env file), dated by the timestamp in each name.

    >>> dump_time("254carbon-20261122-030000.sql").isoformat()
    '2026-11-22T03:00:00+00:00'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from backup_drills.adapters.rclone import NO_SUCH_PATH
from backup_drills.core.transport import DrillCouldNotRun, Remote
from backup_drills.inventory.schema import Dump, Job

_STAMP = re.compile(r"(\d{8})[-_T]?(\d{6})")


@dataclass(frozen=True)
class StoredDump:
    tier: str
    name: str
    size: int
    time: datetime
    url: str


def dump_time(name: str) -> datetime | None:
    """The ``YYYYmmdd-HHMMSS`` (or ``_``, ``T``, nothing between) in a dump's name, as UTC."""
    found = _STAMP.search(name)
    if found is None:
        return None
    return datetime.strptime("".join(found.groups()), "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def dump_remote_of(job: Job) -> Dump:
    """The job's dump, which must name a ``remote``; else the drill cannot run."""
    if job.dump is None or job.dump.remote is None:
        raise DrillCouldNotRun(f"job {job.name} declares no dump remote")
    return job.dump


def list_tier(remote: Remote, job: Job, tier: str) -> list[StoredDump]:
    """The dated dumps of one tier, oldest first (names without a timestamp are not dumps)."""
    dump = dump_remote_of(job)
    where = f"{str(dump.remote).rstrip('/')}/{tier}"
    listed = remote.run(remote.with_credentials(["rclone", "lsf", "--format", "sp", "--files-only",
                                                 where], job), timeout=120)
    if not listed.ok:
        if NO_SUCH_PATH in listed.stderr:  # rclone's words: no dump of that tier yet
            return []
        raise DrillCouldNotRun(f"host {remote.name}, job {job.name}: `rclone lsf {where}` exited "
                               f"{listed.exit_status}: {listed.tail(2)}")
    found = []
    for line in listed.text.splitlines():
        size, _, name = line.partition(";")
        made = dump_time(name)
        if made is not None and size.isdigit():
            found.append(StoredDump(tier, name, int(size), made, f"{where}/{name}"))
    return sorted(found, key=lambda d: d.time)


def newest_dump(remote: Remote, job: Job, tier: str) -> StoredDump | None:
    found = list_tier(remote, job, tier)
    return found[-1] if found else None
