"""The evidence's types (schema version 4): docs/evidence.schema.json is what the models make
today, a job file the log writes passes it, a verdict's measurements are checked when it is made
(an unknown key, a wrong type, an age without its source fail), ``require`` records every
verdict's measurements for the scenario's job whatever the step passes, and version 3 files of
old runs are still read by ``verify``'s job loader and the trends (a version it does not read is
named)."""

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from backup_drills.evidence import manifest
from backup_drills.evidence.log import EvidenceLog
from backup_drills.evidence.records import DOCS, SCHEMA_FILE, SCHEMA_VERSION, expected, json_schema, main
from backup_drills.evidence.trends import load_history
from backup_drills.outcomes import NotCompliant, recording, require
from backup_drills.verdicts.verdict import Verdict

ROOT = Path(__file__).resolve().parents[2]
JOB = "flux-backup@motoko"
FRESH = {"snapshot_age_seconds": 120.0, "rpo_seconds": 93600.0,
         "sources": {"snapshot_age_seconds": "snapshot 1d5bed9b (2026-12-03T03:00:00+00:00), as found"}}


# written with the dev tools' pydantic (another version may word the schema otherwise): checked
# current in `make test`, not on the floors
@pytest.mark.floors_irrelevant
def test_generated_schema_is_current() -> None:
    for path, text in expected().items():
        assert path.read_text() == text, (
            f"{path.relative_to(ROOT)} differs from drills/evidence/records.py: run "
            "python -m backup_drills.evidence.records --write")


@pytest.mark.floors_irrelevant
def test_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    (tmp_path / SCHEMA_FILE).write_text((DOCS / SCHEMA_FILE).read_text())
    assert main(["--check", "--docs", str(tmp_path)]) == 0
    (tmp_path / SCHEMA_FILE).write_text("{}\n")
    assert main(["--check", "--docs", str(tmp_path)]) == 1


def _written(tmp_path: Path, **measured: object) -> dict[str, object]:
    log = EvidenceLog(run_id="20261203T120000Z")
    with recording(JOB, log):
        require(Verdict(True, "host motoko, job flux-backup: fresh", {**FRESH, **measured}))
    log.outcome(JOB, "The latest snapshot is fresh", "verified", ["ISO27001:A.8.13"])
    doc: dict[str, object] = json.loads((log.write(tmp_path) / f"{JOB}.json").read_text())
    return doc


def test_a_written_job_file_passes_the_published_schema(tmp_path: Path) -> None:
    doc = _written(tmp_path, read_data=[{"slice": "2/4", "read_at": "2026-12-03T12:00:00+00:00",
                                         "passed": True}])
    schema = json.loads((DOCS / SCHEMA_FILE).read_text())
    Draft202012Validator.check_schema(schema)
    assert doc["schema_version"] == SCHEMA_VERSION == 4
    assert not [e.message for e in Draft202012Validator(schema).iter_errors(doc)]
    unsourced = {**doc, "measured": {"snapshot_age_seconds": 1.0}}
    assert list(Draft202012Validator(json_schema()).iter_errors(unsourced))


@pytest.mark.parametrize(("evidence", "said"), [
    ({"snapshot_age": 1.0}, "measured snapshot_age: Extra inputs are not permitted"),
    ({"stale_locks": "two"}, "measured stale_locks: Input should be a valid integer"),
    ({"snapshot_age_seconds": 1.0}, "measured snapshot_age_seconds without sources.snapshot_age_seconds"),
    ({"restore_seconds": 3.0}, "measured restore_seconds without sources.restore_seconds"),
])
def test_a_verdict_measures_typed_values_with_their_sources(evidence: dict[str, object], said: str) -> None:
    with pytest.raises(ValueError, match="host motoko, job flux-backup: ") as raised:
        Verdict(True, "host motoko, job flux-backup: something", evidence)
    assert said in str(raised.value)


def test_require_records_for_the_running_job_whatever_the_step_passes() -> None:
    log = EvidenceLog()
    require(Verdict(True, "outside a scenario", {"stale_locks": 0}))  # no job running: nothing kept
    assert log.jobs == {}
    with recording(JOB, log), pytest.raises(NotCompliant, match="2 stale lock"):
        require(Verdict(False, "host motoko, job flux-backup: 2 stale lock(s)", {"stale_locks": 2}))
    with recording(JOB, log):
        require(Verdict(True, "host motoko, job flux-backup: fresh", FRESH))
    assert log.jobs[JOB]["stale_locks"] == 2
    assert log.jobs[JOB]["sources"] == FRESH["sources"]
    require(Verdict(True, "after the scenario", {"stale_locks": 5}))
    assert log.jobs[JOB]["stale_locks"] == 2


def test_old_runs_version_3_files_are_read(tmp_path: Path) -> None:
    run = tmp_path / "20261101T090000Z"
    run.mkdir()
    old = {"schema_version": 3, "suite_version": "0.9", "run_id": run.name, "job": JOB,
           "verdict": "verified", "measured": {"snapshot_age_seconds": 7200.0, "rpo_seconds": 93600.0,
                                               "restore[/etc/x]": {"restore_seconds": 1.0}},
           "scenarios": [{"scenario": "s", "outcome": "verified", "controls": [], "message": ""}]}
    (run / f"{JOB}.json").write_text(json.dumps(old))
    assert manifest.load_job(run / f"{JOB}.json")["measured"]["snapshot_age_seconds"] == 7200.0
    assert [p.run_id for p in load_history(tmp_path)[JOB]] == [run.name]
    (run / f"{JOB}.json").write_text(json.dumps({**old, "schema_version": 9}))
    with pytest.raises(manifest.Unreadable, match=r"expected one of 2, 3, 4 .*got 9"):
        manifest.load_job(run / f"{JOB}.json")
