"""JSON status markers in the runbook's schema (``b2_mirror.json``, ``restic_cloud.json``, ...).

    >>> reading = read_marker(remote, "/space/_ops/data-estate/markers/b2_mirror.json")  # doctest: +SKIP
    >>> reading.marker.status, reading.marker.finished_at                              # doctest: +SKIP
    ('success', datetime.datetime(2025, 12, 18, 5, 23, 15, tzinfo=datetime.timezone.utc))
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from drills.transport import Remote

_MISSING = 44


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

    def age(self, now: datetime | None = None) -> float | None:
        """Seconds since the reported run ended, or None without a parsable time."""
        if self.marker is None or self.marker.finished_at is None:
            return None
        return ((now or datetime.now(UTC)) - self.marker.finished_at).total_seconds()


def read_marker(remote: Remote, path: str) -> MarkerReading:
    result = remote.run(f"test -e {shlex.quote(path)} || exit {_MISSING}; cat {shlex.quote(path)}")
    if result.exit_status == _MISSING:
        return MarkerReading(remote.name, path, False, None, "does not exist")
    if not result.ok:
        return MarkerReading(remote.name, path, True, None, f"unreadable: {result.tail(2)}")
    try:
        doc = json.loads(result.text)
        return MarkerReading(remote.name, path, True, StatusMarker.model_validate(doc), None)
    except json.JSONDecodeError as exc:
        return MarkerReading(remote.name, path, True, None, f"not valid JSON: {exc}")
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return MarkerReading(remote.name, path, True, None, f"not in the runbook schema: {problems}")
