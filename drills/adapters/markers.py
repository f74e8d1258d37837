"""JSON status markers in the runbook's schema (``b2_mirror.json``, ``restic_cloud.json``, ...).

    >>> reading = read_marker(remote, "/space/_ops/data-estate/markers/b2_mirror.json")  # doctest: +SKIP
    >>> reading.marker.status, reading.marker.finished_at                              # doctest: +SKIP
    ('success', datetime.datetime(2025, 12, 18, 5, 23, 15, tzinfo=datetime.timezone.utc))
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from backup_drills.core.hostfile import HostFile, read_file, read_newest
from backup_drills.core.transport import Remote


class StatusMarker(BaseModel):
    """The fields the runbook's appendix defines; other fields are kept, not required."""

    model_config = ConfigDict(extra="allow", frozen=True)

    job: str
    host: str
    status: str
    message: str = ""
    started_at: AwareDatetime | None = None
    completed_at: AwareDatetime | None = None
    timestamp: AwareDatetime | None = None
    failed_at: AwareDatetime | None = None
    snapshot_id: str | None = None
    tests: dict[str, str] = {}  # restore_test.json: each automated restore test, PASS or FAIL

    @property
    def finished_at(self) -> datetime | None:
        """When the run this marker reports ended: failed_at, completed_at or timestamp."""
        return self.failed_at or self.completed_at or self.timestamp


@dataclass(frozen=True)
class MarkerReading:
    host: str
    path: str
    exists: bool
    marker: StatusMarker | None
    error: str | None
    what: str = "marker"  # how messages name the file: a marker, a restore-test result
    warning: str | None = None  # its folder may be written by others (backup_drills.core.hostfile)

    @property
    def age_key(self) -> str:
        """The evidence key of its age.

        >>> MarkerReading("akira", "/r.json", True, None, None, "restore-test result").age_key
        'restore_test_result_age_seconds'
        """
        return f"{self.what.replace(' ', '_').replace('-', '_')}_age_seconds"

    def age(self, now: datetime | None = None) -> float | None:
        """Seconds since the reported run ended, or None without a parsable time."""
        if self.marker is None or self.marker.finished_at is None:
            return None
        return ((now or datetime.now(UTC)) - self.marker.finished_at).total_seconds()


def read_marker(remote: Remote, path: str) -> MarkerReading:
    """The marker at ``path``, read as ``backup_drills.core.hostfile`` reads: never through a link."""
    return _reading(read_file(remote, path), "does not exist")


def read_newest_result(remote: Remote, directory: str) -> MarkerReading:
    """The newest (by modification time) ``*.json`` in ``directory``: the latest result of a
    job's own automated restore test, in the runbook's ``restore_test.json`` schema.

        >>> read_newest_result(remote, "/space/_ops/backups/restore-tests").marker.tests  # doctest: +SKIP
        {'b2_mirror': 'PASS'}
    """
    return _reading(read_newest(remote, directory), "matches no file", "restore-test result")


def _reading(found: HostFile, missing: str, what: str = "marker") -> MarkerReading:
    if not found.exists:
        return MarkerReading(found.host, found.path, False, None, missing, what)
    if found.problem is not None:
        return MarkerReading(found.host, found.path, True, None, found.problem, what, found.warning)
    reading = _parsed(found.host, found.path, found.data.decode("utf-8", errors="replace"), what)
    return replace(reading, warning=found.warning)


def _parsed(host: str, path: str, text: str, what: str = "marker") -> MarkerReading:
    try:
        doc = json.loads(text)
        return MarkerReading(host, path, True, StatusMarker.model_validate(doc), None, what)
    except json.JSONDecodeError as exc:
        return MarkerReading(host, path, True, None, f"not valid JSON: {exc}", what)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return MarkerReading(host, path, True, None, f"not in the runbook schema: {problems}", what)
