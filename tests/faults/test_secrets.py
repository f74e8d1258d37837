"""Secrets are referenced, never copied: a whole drill of the lab writes no secret value."""

import json
import os
import re
from pathlib import Path

import pytest

from lab.state import LabState

pytestmark = pytest.mark.lab
PHC = ("PHC Bulletproof Backups: B2 Mirror & Restic Restore Runbook", "phc")
CARTAE = ("Cartae Restic Backup System (Session 81e)", "cartae")
RUNBOOKS = {  # the first word of each job's name: the runbook it follows
    "flux": PHC, "space": PHC, "restic": PHC, "restore": PHC, "nextcloud": PHC, "batou": PHC,
    "cartae": CARTAE, "togusa": CARTAE,
    "miraclemax": ("MiracleMax Backup Strategy", "miraclemax"),
    "actual": ("MiracleMax Backup Strategy", "miraclemax"),
    "carbon": ("254Carbon Backup & Restore Runbook", "254carbon"),
}


@pytest.mark.alone  # reads the session's whole drill
def test_a_whole_drill_writes_and_prints_no_secret_value(one_failing_run):
    state = LabState.load_or_create()
    secrets = [state.restic_password]
    for identity in state.identities.values():
        secrets += [identity.access_key, identity.secret_key]
    run, tmp_path = one_failing_run.run, one_failing_run.tmp
    assert run.returncode == 1, run.stdout[-3000:]  # flux-backup's restore, at 1 s RTO
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) > 20  # results, evidence, junit
    assert one_failing_run.drill.leaks(run, secrets) == []
    # the same run labels its report for auditors: runbook (epic), job (story), severity, links
    results = [json.loads(p.read_text()) for p in (tmp_path / "allure").glob("*-result.json")]
    assert len(results) == len(re.findall(r"^(?:PASSED|FAILED) ", run.stdout, re.MULTILINE)) > 100
    for result in results:
        labels = {label["name"]: label["value"] for label in result["labels"]}
        epic, runbook = RUNBOOKS[labels["story"].split("-")[0]]
        assert labels["epic"] == epic
        assert labels["severity"] in {"blocker", "critical", "normal"}
        assert result["links"][0]["url"].startswith(f"docs/runbooks/{runbook}.md#")
    context = (tmp_path / "allure" / "environment.properties").read_text()
    assert "motoko.restic=restic 0.14" in context
    assert json.loads((tmp_path / "allure" / "categories.json").read_text())[0]["matchedStatuses"]


@pytest.mark.touches("motoko")
def test_credentials_from_the_runners_environment_drill_motoko_and_show_nowhere(drill, tmp_path: Path):
    state = LabState.load_or_create()
    identity = state.identities["restic"]
    values = {"RESTIC_PASSWORD": state.restic_password, "AWS_ACCESS_KEY_ID": identity.access_key,
              "AWS_SECRET_ACCESS_KEY": identity.secret_key,
              "BORG_PASSPHRASE": state.restic_password}  # motoko's borg repository too
    inventory = drill.inventory_with(host="motoko", credentials_env=None, credentials_from_env=list(values))
    run = drill.run_features("-q", "-rA", f"--inventory={inventory}", "-k", "motoko",
                             env={**os.environ, **values})
    assert run.returncode == 0, run.stdout[-3000:]  # restic read the repository with them
    assert re.search(r"\b\d\d passed\b", run.stdout), run.stdout[-1000:]
    assert drill.leaks(run, list(values.values())) == []
    without = drill.run_features("-q", f"--inventory={inventory}", "-k", "motoko and restic_check_passes",
                                 env={k: v for k, v in os.environ.items() if k not in values})
    assert without.returncode == 2, without.stdout[-3000:]  # could not run, named
    assert "host motoko: the runner's environment lacks RESTIC_PASSWORD, AWS_ACCESS_KEY_ID" in without.stdout
