"""Observe first, then act: a whole drill of a job judges the estate as it found it, whatever its
canary and on-demand backup do afterwards. Order matters here, so each test runs the job's whole
drill (every scenario of flux-backup), never one scenario alone."""

import json
from datetime import UTC, datetime, timedelta

import pytest

pytestmark = [pytest.mark.lab, pytest.mark.touches("motoko")]

MARKER = "/space/_ops/data-estate/markers/restic_cloud.json"
FAILURE = "/space/_ops/data-estate/markers/last_failure.json"


def whole_drill_of_flux(drill):
    run = drill.run_features("-k", "flux-backup", "-q", "--tb=line", "-p", "no:randomly")
    return run, run.stdout + run.stderr


def evidence_of(drill, job_id):
    (found,) = (drill.tmp / "evidence").glob(f"*/{job_id}.json")
    return json.loads(found.read_text())


def test_a_stale_marker_fails_a_whole_drill_whose_canary_rewrites_it(drill, motoko):
    """The canary's on-demand backup rewrites the marker (and adds the newest snapshot): the
    marker must be judged as found, the canary still passes, and the evidence's data age is the
    age of the snapshot the drill found, not of its own."""
    old = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="seconds")
    found = json.loads(motoko.restic("snapshots --host motoko --path /flux --latest 1 --json --no-lock"))
    with motoko.keep(MARKER), motoko.keep(FAILURE):
        motoko.sh(f"rm -f {FAILURE}")  # an older failure would be newer than the aged success
        motoko.sh(f"jq '.completed_at = \"{old}\"' {MARKER} > /tmp/m && cat /tmp/m > {MARKER}")
        run, output = whole_drill_of_flux(drill)
    assert run.returncode == 1, output
    assert f"host motoko, job flux-backup: marker {MARKER} is 72h" in output, output
    assert output.count("FAILED features/") == 1, output
    measured = evidence_of(drill, "flux-backup@motoko")["measured"]
    as_found = f"snapshot {found[0]['short_id']} "
    assert measured["sources"]["snapshot_age_seconds"].startswith(as_found), measured
    assert measured["restored_snapshot_id"] == found[0]["short_id"], measured
