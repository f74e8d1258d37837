"""Every reading of a job's state, as found (see ``backup_drills.core.observe``): verdicts ask these, never
the tools directly, so that nothing the drill does on a host changes what it judges there.

    >>> marker = MARKER(remote, job)              # doctest: +SKIP
    >>> marker.marker.status                      # doctest: +SKIP
    'success'
"""

from __future__ import annotations

from dataclasses import dataclass

from backup_drills.adapters.archives import BackupSet, list_sets
from backup_drills.adapters.markers import MarkerReading, read_marker, read_newest_result
from backup_drills.adapters.metrics import scrape
from backup_drills.adapters.object_dumps import StoredDump, list_tier
from backup_drills.adapters.restic import Lock
from backup_drills.adapters.systemd import ServiceState, TimerState, read_service, read_timer
from backup_drills.adapters.tool import HoldsLocks, Snapshot, capable, tool_class, tool_for
from backup_drills.core.observe import reading
from backup_drills.core.retention import Stamp
from backup_drills.core.transport import Remote, declared
from backup_drills.inventory.schema import Job


@dataclass(frozen=True)
class FoundLock:
    """A lock as found, with whether the process that holds it was alive then."""

    lock: Lock
    holder_gone: bool


def _marker(remote: Remote, job: Job) -> MarkerReading:
    return read_marker(remote, declared(job, job.marker, "marker").path)


def _failure_marker(remote: Remote, job: Job) -> MarkerReading | None:
    return read_marker(remote, job.marker.failure_path) if job.marker and job.marker.failure_path \
        else None


def _newest_result(remote: Remote, job: Job) -> MarkerReading:
    return read_newest_result(remote, declared(job, job.results, "restore-test results directory"))


def _locks(remote: Remote, job: Job) -> list[FoundLock]:
    tool: HoldsLocks = capable(tool_for(remote, job), HoldsLocks, "keeps no locks to read")
    return [FoundLock(lock, tool.holder_gone(lock)) for lock in tool.locks()]


def _metrics(remote: Remote, job: Job) -> dict[str, float]:
    return scrape(remote, declared(job, job.metrics, "metrics"), job.name)


def _service(remote: Remote, job: Job) -> ServiceState:
    return read_service(remote, declared(job, job.schedule, "schedule").service)


def _timer(remote: Remote, job: Job) -> TimerState:
    return read_timer(remote, declared(job, job.schedule, "schedule").timer)


def _archive_tiers(remote: Remote, job: Job) -> dict[str, list[BackupSet]]:
    tiers = job.archives.tiers if job.archives else ()
    return {tier.path: list_sets(remote, job, tier.path) for tier in tiers}


def _dump_tiers(remote: Remote, job: Job) -> dict[str, list[StoredDump]]:
    tiers = job.dump.tiers if job.dump else {}
    return {tier: list_tier(remote, job, tier) for tier in tiers}


MARKER = reading("marker", lambda job: job.marker is not None, _marker)
FAILURE_MARKER = reading("failure marker", lambda job: bool(job.marker and job.marker.failure_path),
                         _failure_marker)
NEWEST_RESULT = reading("newest restore-test result", lambda job: job.results is not None,
                        _newest_result)
def _backups(remote: Remote, job: Job) -> list[Snapshot]:
    return tool_for(remote, job).snapshots()


def _retention_stamps(remote: Remote, job: Job) -> list[Stamp]:
    return tool_for(remote, job).retention_stamps(BACKUPS(remote, job))


def _kept_in_repository(job: Job) -> bool:
    return job.repository is not None


# the job's snapshots (archives), whichever tool keeps them (``backup_drills.adapters.tool``)
BACKUPS = reading("snapshots", _kept_in_repository, _backups)
# the same as the tool's retention rules read them (borg: in the host's local time)
RETENTION_STAMPS = reading("retention stamps", lambda job: job.retention is not None
                           and job.repository is not None, _retention_stamps)
LOCKS = reading("locks", lambda job: job.repository is not None
                and issubclass(tool_class(job), HoldsLocks), _locks)
METRICS = reading("metrics", lambda job: job.metrics is not None, _metrics)
SERVICE = reading("last run", lambda job: job.schedule is not None, _service)
TIMER = reading("timer", lambda job: job.schedule is not None, _timer)
ARCHIVE_SETS = reading("backup sets", lambda job: job.archives is not None, list_sets)
ARCHIVE_TIERS = reading("backup sets by tier", lambda job: bool(job.archives and job.archives.tiers),
                        _archive_tiers)
DUMP_TIERS = reading("dumps by tier", lambda job: bool(job.dump and job.dump.remote and job.dump.tiers),
                     _dump_tiers)


def latest_snapshot(remote: Remote, job: Job) -> Snapshot | None:
    """The newest snapshot (archive) of the job's host and source, as found."""
    found = BACKUPS(remote, job)
    return found[-1] if found else None
