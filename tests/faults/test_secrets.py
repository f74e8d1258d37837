"""Secrets are referenced, never copied: a whole drill of the lab writes no secret value, in
any form (raw, JSON-escaped, URL-encoded, base64 at any alignment: ``backup_drills.core.secrets.forms``)
in its output, its files or the HTML report built from them; a drill of motoko with the
runner's credentials puts none in any argv on the host while it runs, and a ``-l`` traceback
of a failing drill shows none."""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path

import pytest
import yaml

from backup_drills.core.secrets import MASK, forms
from backup_drills.evidence.report import build_report
from lab.state import LabState
from tests.faults.conftest import LabHost

pytestmark = pytest.mark.lab
PHC = ("PHC Bulletproof Backups: B2 Mirror & Restic Restore Runbook", "phc")
CARTAE = ("Cartae Restic Backup System (Session 81e)", "cartae")
RUNBOOKS = {  # the first word of each job's name: the runbook it follows
    "flux": PHC, "space": PHC, "restic": PHC, "restore": PHC, "nextcloud": PHC, "batou": PHC,
    "saito": PHC,  # the borgmatic host declares no runbook of its own: the inventory's
    "cartae": CARTAE, "togusa": CARTAE,
    "miraclemax": ("MiracleMax Backup Strategy", "miraclemax"),
    "actual": ("MiracleMax Backup Strategy", "miraclemax"),
    "carbon": ("254Carbon Backup & Restore Runbook", "254carbon"),
}


def lab_secrets() -> list[str]:
    """Every secret of the lab: the restic password (also borg's), every identity's keys (the
    hosts' backup identities in their env files, the runner's auditor in its env file)."""
    state = LabState.load_or_create()
    found = [state.restic_password]
    for identity in state.identities.values():
        found += [identity.access_key, identity.secret_key]
    return found


def leaks(texts: dict[str, str], secrets: list[str]) -> list[tuple[str, str]]:
    """(where, the secret's first 4 characters) for each form of each secret found in ``texts``."""
    return [(where, secret[:4] + "...") for where, text in texts.items() for secret in secrets
            if any(form in text for form in forms(secret))]


def written(folder: Path) -> dict[str, str]:
    """Every file under ``folder``, as text."""
    return {str(p): p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file()}


@pytest.mark.alone  # reads the session's whole drill
def test_a_whole_drill_writes_and_prints_no_secret_value(one_failing_run):
    secrets = lab_secrets()
    run, tmp_path = one_failing_run.run, one_failing_run.tmp
    assert run.returncode == 1, run.stdout[-3000:]  # flux-backup's restore, at 1 s RTO
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) > 20  # results, evidence, junit
    assert leaks({"stdout": run.stdout, "stderr": run.stderr, **written(tmp_path)}, secrets) == []
    # the HTML report auditors read embeds every result and attachment (base64 inside the page)
    report = build_report(tmp_path / "allure", tmp_path.parent / "secrets-report",
                          tmp_path.parent / "secrets-history.jsonl")
    assert len(report.read_text()) > 100_000
    assert leaks({str(report): report.read_text()}, secrets) == []
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


def runner_credentials() -> dict[str, str]:
    """motoko's credentials as the runner's environment holds them (``credentials_from_env``)."""
    state = LabState.load_or_create()
    identity = state.identities["restic"]
    return {"RESTIC_PASSWORD": state.restic_password, "AWS_ACCESS_KEY_ID": identity.access_key,
            "AWS_SECRET_ACCESS_KEY": identity.secret_key,
            "BORG_PASSPHRASE": state.restic_password}  # motoko's borg repository too


class ArgvSampler:
    """``ps`` on a lab host, every half second while a drill runs (at most ``limit`` samples):
    every process's whole command line."""

    def __init__(self, host: LabHost, limit: int = 240) -> None:
        self.host, self.limit = host, limit
        self.samples: list[str] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._done.is_set() and len(self.samples) < self.limit:
            found = self.host.container.exec_run(["ps", "-eww", "-o", "args="])
            self.samples.append(found.output.decode(errors="replace"))
            self._done.wait(0.5)

    def __enter__(self) -> ArgvSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(timeout=30)


@pytest.mark.touches("motoko")
def test_credentials_from_the_runners_environment_drill_motoko_and_show_nowhere(drill, tmp_path: Path,
                                                                               motoko: LabHost):
    values = runner_credentials()
    inventory = drill.inventory_with(host="motoko", credentials_env=None, credentials_from_env=list(values))
    with ArgvSampler(motoko) as argv:
        run = drill.run_features("-q", "-rA", "-l", f"--inventory={inventory}", "-k", "motoko",
                                 env={**os.environ, **values})
    assert run.returncode == 0, run.stdout[-3000:]  # restic read the repository with them
    assert re.search(r"\b\d\d passed\b", run.stdout), run.stdout[-1000:]
    secrets = lab_secrets()
    assert leaks({"stdout": run.stdout, "stderr": run.stderr, **written(drill.tmp)}, secrets) == []
    # the host's argv while the drill ran: its restic and borg commands, never a value
    drilled = [sample for sample in argv.samples if "exec restic" in sample or "exec borg" in sample]
    assert drilled, f"{len(argv.samples)} samples of motoko's argv, none of a drill command"
    assert leaks({f"motoko argv, sample {i}": s for i, s in enumerate(argv.samples)}, secrets) == []
    without = drill.run_features("-q", f"--inventory={inventory}", "-k", "motoko and restic_check_passes",
                                 env={k: v for k, v in os.environ.items() if k not in values})
    assert without.returncode == 2, without.stdout[-3000:]  # could not run, named
    assert "host motoko: the runner's environment lacks RESTIC_PASSWORD, AWS_ACCESS_KEY_ID" in without.stdout


@pytest.mark.touches("motoko")
def test_a_traceback_with_locals_of_a_failing_drill_shows_no_secret(drill, tmp_path: Path):
    """An object store whose region botocore refuses: the drill fails with a traceback through
    boto3, whose locals hold the auditor key read from the runner's env file (``-l``), while
    motoko's probe sends the runner's credentials."""
    values = runner_credentials()
    doc = yaml.safe_load(drill.inventory_with(host="motoko", credentials_env=None,
                                              credentials_from_env=list(values)).read_text())
    doc["object_stores"]["lab"]["region"] = "no such region!"
    inventory = tmp_path / "refused-region.yml"
    inventory.write_text(yaml.safe_dump(doc))
    run = drill.run_features("-l", "--full-trace", f"--inventory={inventory}",
                             "-k", "flux-backup and bucket_keeps_object_versions",
                             f"--junitxml={tmp_path / 'junit.xml'}", env={**os.environ, **values})
    assert run.returncode not in (0, 5), run.stdout[-3000:]
    assert "InvalidRegionError" in run.stdout, run.stdout[-3000:]
    assert f"aws_secret_access_key = '{MASK}'" in run.stdout, run.stdout[-3000:]  # a local, masked
    assert leaks({"output": run.stdout + run.stderr, **written(drill.tmp)}, lab_secrets()) == []
