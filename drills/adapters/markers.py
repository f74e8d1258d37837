"""JSON status markers in the runbook's schema (``b2_mirror.json``, ``restic_cloud.json``, ...).

    >>> reading = read_marker(remote, "/space/_ops/data-estate/markers/b2_mirror.json")  # doctest: +SKIP
    >>> reading.marker.status, reading.marker.finished_at                              # doctest: +SKIP
    ('success', datetime.datetime(2025, 12, 18, 5, 23, 15, tzinfo=datetime.timezone.utc))
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from drills.core.transport import Remote, argv

_MISSING = 44
# shell code with the paths as positional parameters: a marker ($1), or the newest *.json of a
# folder ($1) by modification time, its path NUL-ended before its content
_READ = f'[ -e "$1" ] || exit {_MISSING}; cat -- "$1"'
_NEWEST = ('newest=; for f in "$1"/*.json; do [ -f "$f" ] || continue; '
           '{ [ -z "$newest" ] || [ "$f" -nt "$newest" ]; } && newest=$f; done; '
           f'[ -n "$newest" ] || exit {_MISSING}; printf \'%s\\0\' "$newest"; cat -- "$newest"')


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
    result = remote.run(argv("sh", "-c", _READ, "read-marker", path))
    if result.exit_status == _MISSING:
        return MarkerReading(remote.name, path, False, None, "does not exist")
    if not result.ok:
        return MarkerReading(remote.name, path, True, None, f"unreadable: {result.tail(2)}")
    return _parsed(remote.name, path, result.text)


def read_newest_result(remote: Remote, directory: str) -> MarkerReading:
    """The newest (by modification time) ``*.json`` in ``directory``: the latest result of a
    job's own automated restore test, in the runbook's ``restore_test.json`` schema.

        >>> read_newest_result(remote, "/space/_ops/backups/restore-tests").marker.tests  # doctest: +SKIP
        {'b2_mirror': 'PASS'}
    """
    result = remote.run(argv("sh", "-c", _NEWEST, "newest-result", directory.rstrip("/")))
    pattern, what = f"{directory.rstrip('/')}/*.json", "restore-test result"
    if result.exit_status == _MISSING:
        return MarkerReading(remote.name, pattern, False, None, "matches no file", what)
    if not result.ok:
        return MarkerReading(remote.name, pattern, True, None, f"unreadable: {result.tail(2)}", what)
    path, _, text = result.text.partition("\0")
    return _parsed(remote.name, path, text, what)


def _parsed(host: str, path: str, text: str, what: str = "marker") -> MarkerReading:
    try:
        doc = json.loads(text)
        return MarkerReading(host, path, True, StatusMarker.model_validate(doc), None, what)
    except json.JSONDecodeError as exc:
        return MarkerReading(host, path, True, None, f"not valid JSON: {exc}", what)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return MarkerReading(host, path, True, None, f"not in the runbook schema: {problems}", what)
