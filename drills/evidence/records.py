"""The evidence's types (schema version 4): what a verdict measured, each measurement with the
source it was taken on, and the job file that holds them. The JSON Schema auditors validate a
job file with (``docs/evidence.schema.json``) is generated from these models:

    $ python -m backup_drills.evidence.records --write   # docs/evidence.schema.json
    $ python -m backup_drills.evidence.records --check   # 1 when it differs from the models

Every ``Verdict`` validates what it measured as a ``Measured`` record when it is made (an
unknown key or a value of the wrong type fails at once, naming both), and ``require`` records it
for the scenario's job: the step does not choose what is kept.

    >>> m = Measured.of({"snapshot_age_seconds": 120.0, "rpo_seconds": 93600.0,
    ...                  "sources": {"snapshot_age_seconds": "snapshot 1d5bed9b, as found"}})
    >>> m.snapshot_age_seconds, m.sources["snapshot_age_seconds"]
    (120.0, 'snapshot 1d5bed9b, as found')
    >>> Measured.of({"snapshot_age_seconds": 120.0})
    Traceback (most recent call last):
    ValueError: measured snapshot_age_seconds without sources.snapshot_age_seconds (what it was taken on)

Version 3 files (the same ``measured`` keys, untyped) and version 2 files are read as they are;
``READ_VERSIONS`` lists what the report, ``verify``, merge and the trends read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, model_validator

from backup_drills.core.generated import generated_main

SCHEMA_VERSION = 4  # 4: measurements typed (``Measured``), each age and duration with its source
READ_VERSIONS = (2, 3, 4)  # job files the report, ``verify``, merge and the trends read
DOCS = Path(__file__).resolve().parents[2] / "docs"
SCHEMA_FILE = "evidence.schema.json"
# measurements an auditor must be able to trace to what they were taken on (a snapshot, a
# marker, a dump, a restore, a clock): a verdict that measures one names its source
SOURCED = ("snapshot_age_seconds", "marker_age_seconds", "restore_test_result_age_seconds",
           "metrics_age_seconds", "restore_seconds", "clock_skew_seconds", "newest_files")

Json = JsonValue


class SliceRead(BaseModel):
    """One slice of a read rotation a check read (``read_data``)."""

    model_config = ConfigDict(extra="forbid")
    slice: str = Field(description="n/t, or the subset as given (10%)")
    read_at: str = Field(description="when the check read it (ISO 8601, UTC)")
    passed: bool


class Measured(BaseModel):
    """What the drills of one job measured in one run: every verdict's measurements merged, each
    age and duration with its source (``sources``: measurement -> what it was taken on)."""

    model_config = ConfigDict(extra="forbid")
    sources: dict[str, str] = Field(default_factory=dict, description=(
        "what each measurement was taken on: 'snapshot 1d5bed9b (2026-11-30T03:00:00+00:00), "
        "as found', 'marker /var/lib/x/status (...), as found'"))
    # freshness (RPO evidence)
    rpo_seconds: float | None = Field(None, description="the job's RPO")
    snapshot_age_seconds: float | None = Field(None, description="newest snapshot, archive or dump")
    marker_age_seconds: float | None = Field(None, description="age of the job's success marker")
    restore_test_result_age_seconds: float | None = Field(None, description="the restore test's result")
    metrics_age_seconds: float | None = Field(None, description="age of the job's success metric")
    archive_ages: Json = Field(None, description="age of the newest archive of each component")
    clock_skew_seconds: float | None = Field(None, description="host clock minus the runner's")
    # restores (RTO evidence)
    what: str | None = Field(None, description="what was restored ('.': the whole source)")
    restore_seconds: float | None = Field(None, description="the restore alone")
    drill_seconds: float | None = Field(None, description="restore and verification")
    rto_seconds: float | None = Field(None, description="the job's RTO")
    restored_snapshot_id: str | None = None
    restored_snapshot_time: str | None = None
    entries_compared: int | None = None
    bytes_verified: int | None = None
    differing: int | None = None
    missing: int | None = None
    changed_after_backup: int | None = None
    throughput_mib_s: float | None = None
    restores: dict[str, Json] | None = Field(None, description="partial restores by path")
    components: Json = Field(None, description="archives restored, by component")
    origin: str | None = Field(None, description="the dump restored")
    made_at: str | None = Field(None, description="when the dump was made")
    tables: Json = Field(None, description="tables restored: rows and checksum")
    keys: int | None = Field(None, description="Redis keys loaded")
    digest: str | None = None
    tiers: Json = Field(None, description="each dump tier's restore")
    smoke: Json = Field(None, description="smoke queries and their results")
    expected_tables: list[str] | None = None
    restore_rotation: Json = Field(None, description="the restore rotation's slice proven this run")
    restore_coverage_gaps: list[int] | None = None
    restore_coverage_window: Json = None
    # repository
    command: str | None = Field(None, description="the last command a verdict ran, secrets masked")
    check_seconds: float | None = None
    output: str | None = None
    read_data: list[SliceRead] | None = Field(None, description="what the read check read")
    read_coverage_gaps: list[int] | None = None
    stale_locks: int | None = None
    sample_snapshot_id: str | None = None
    path: str | None = None
    size: int | str | None = None
    diff: str | None = None
    removed: int | None = None
    vanished: int | None = None
    newest_files: int | None = None
    newest_bytes: int | None = None
    median_files: float | None = None
    median_bytes: float | None = None
    snapshots: int | None = Field(None, description="snapshots counted against the retention policy")
    archives: int | None = Field(None, description="archives counted against the retention policy")
    retention: str | None = None
    violations: int | None = None
    entries_checked: int | None = None
    # markers, schedules, monitoring
    restore_tests: dict[str, str] | None = None
    result: str | None = None
    warning: str | None = None
    timer: str | None = None
    next_run: str | None = None
    on_calendar: list[str] | None = None
    declared: str | list[str] | None = None
    not_stated: list[str] | None = None
    not_on_timer: list[str] | None = None
    compared_until: str | None = None
    service: str | None = None
    last_exit: str | None = None
    read_from: str | None = None
    cron_file: str | None = None
    cron_entries: list[str] | None = None
    metrics: Json = None
    backup_duration_seconds: float | None = None
    max_duration_seconds: float | None = None
    # archives, databases, buckets, exposure
    checked: Json = None
    in_clear: Json = None
    newest_set: str | None = None
    sets: int | None = None
    keep_days: int | None = None
    dumps_by_tier: Json = None
    bucket_versioning: str | None = None
    bucket_lock: str | None = None
    lifecycle_violations: int | None = None
    anonymous_findings: int | None = None
    bucket_encryption: list[str | None] | str | None = Field(
        None, description="each newest object's encryption (null: stored in clear), or the bucket's default")
    endpoints: Json = None
    credentials_file: str | None = None
    mode: str | None = None
    owner: str | None = None
    password_file: str | None = None
    password_file_mode: str | None = None
    password_file_owner: str | None = None

    @model_validator(mode="after")
    def _sourced(self) -> Measured:
        for key in SOURCED:
            if getattr(self, key) is not None and key not in self.sources:
                raise ValueError(f"measured {key} without sources.{key} (what it was taken on)")
        return self

    @classmethod
    def of(cls, measured: dict[str, Any]) -> Measured:
        """``measured`` validated; a ValueError names each wrong key and what was expected."""
        try:
            return cls.model_validate(measured)
        except ValidationError as exc:
            raise ValueError("; ".join(
                f"measured {'.'.join(map(str, e['loc']))}: {e['msg']}" if e["loc"]
                else str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())) from None

    def values(self) -> dict[str, Any]:
        """The measurements set, as JSON (what a job file's ``measured`` holds)."""
        return self.model_dump(mode="json", exclude_unset=True)


class ScenarioOutcome(BaseModel):
    """What one scenario concluded for the job."""

    model_config = ConfigDict(extra="forbid")
    scenario: str
    outcome: Literal["verified", "not_compliant", "could_not_run", "waived"]
    controls: list[str] = Field(description="the compliance controls the scenario evidences")
    message: str = Field(description="the verdict's message, secrets masked (at most 2000 characters)")


class NotRun(BaseModel):
    """A scenario the run left out for the job, and why (neither verified nor failed)."""

    model_config = ConfigDict(extra="forbid")
    scenario: str
    reason: str


class JobFile(BaseModel):
    """One job's evidence of one run: ``<run>/<job>@<host>.json``."""

    model_config = ConfigDict(extra="forbid", title="backup-drills job evidence, schema version 4")
    schema_version: Literal[4]
    suite_version: str
    run_id: str = Field(description="the run, UTC: 20261122T090000Z")
    job: str = Field(pattern=r"^[^@/\\]+@[^@/\\]+$", description="<job>@<host>")
    verdict: Literal["verified", "not_compliant", "could_not_run", "waived"] = Field(
        description="the worst of the scenarios' outcomes")
    shard: str | None = Field(None, description="the shard of a sharded drill, '2/3'")
    measured: Measured
    scenarios: list[ScenarioOutcome]
    not_run: list[NotRun] | None = None


def json_schema() -> dict[str, Any]:
    """The job file's JSON Schema (draft 2020-12)."""
    found = JobFile.model_json_schema()
    found["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    found["$defs"]["Measured"]["dependentSchemas"] = {  # each of SOURCED names its source
        key: {"required": ["sources"], "properties": {"sources": {"required": [key]}}}
        for key in SOURCED}
    return found


def expected(docs: Path = DOCS) -> dict[Path, str]:
    return {docs / SCHEMA_FILE: json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"}


def main(argv: list[str] | None = None) -> int:
    return generated_main("python -m backup_drills.evidence.records", "the evidence job file's JSON Schema",
                          expected, DOCS, argv, "write docs/evidence.schema.json")


if __name__ == "__main__":
    sys.exit(main())
