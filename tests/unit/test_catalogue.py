"""The step catalogue is current, and features cannot use a sentence no step defines."""

import subprocess
import sys
from pathlib import Path

from backup_drills.steps import STEP_MODULES
from backup_drills.steps.plugin.catalogue import CATALOGUE, catalogue, current, main
from backup_drills.steps.plugin.entry import PLUGIN_MODULES

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = (*PLUGIN_MODULES, *STEP_MODULES)


def run_pytest(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_catalogue_in_docs_is_current():
    assert (ROOT / CATALOGUE).read_text() == current(), f"stale: run `drill-steps > {CATALOGUE}`"
    assert main(["--check"]) == 0


def test_every_step_has_a_summary_and_every_sentence_an_example():
    entries = catalogue()
    assert len(entries) >= 20
    assert [e.sentence for e in entries if not e.summary] == []
    assert "(not used yet)" not in current()


def test_an_unknown_sentence_stops_collection_with_a_pointer_to_the_catalogue(tmp_path):
    (tmp_path / "x.feature").write_text(
        "@restic\nFeature: F\n  Scenario: S\n    Given the job's host answers\n"
        "    Then the backup is magically fine\n")
    plugins = [arg for module in PLUGINS for arg in ("-p", module)]
    run = run_pytest(str(tmp_path), *plugins, f"--inventory={ROOT / 'inventory/lab.yml'}",
                     f"--evidence-dir={tmp_path / 'evidence'}", cwd=tmp_path)
    assert run.returncode == 4, run.stdout + run.stderr  # a usage error, before any host
    assert "x.feature:5: no step matches 'Then the backup is magically fine'" in run.stderr
    assert CATALOGUE in run.stderr


def test_generate_missing_finds_nothing_missing_in_the_shipped_features():
    run = run_pytest("--generate-missing", "--feature", "features", "features/", cwd=ROOT)
    assert "is not defined" not in run.stdout, run.stdout
    assert "raise NotImplementedError" not in run.stdout
