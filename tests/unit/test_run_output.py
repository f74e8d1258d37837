"""What ``backup-drills run`` prints besides its verdicts: no warning of pytest's own (with
``-W error``, where an ini says ``filterwarnings = error``, a warning is exit 1, the not-compliant
code), and the drill's progress on pytest's live log with ``-o log_cli=true`` alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.unit.test_notify import backup_drills_run, tiny_estate

ROOT = Path(__file__).resolve().parents[2]


def installed_like_a_wheel(site: Path) -> dict[str, str]:
    """The environment of a run where the suite looks installed from its wheel: the metadata
    pytest reads to mark a plugin's packages for assertion rewriting (its ``pytest11`` entry point
    and its files as RECORD lists them). An editable install lists no package files, so it never
    shows pytest's 'Module already imported so cannot be rewritten' warning."""
    info = site / "backup_drills-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: backup-drills\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[pytest11]\nbackup_drills = backup_drills.steps.plugin.entry\n")
    (info / "RECORD").write_text("backup_drills/__init__.py,,\n")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}


def test_backup_drills_run_warns_nothing_with_W_error(tmp_path):
    env = installed_like_a_wheel(tmp_path / "site")
    inventory = tiny_estate(tmp_path / "estate")
    run = backup_drills_run(tmp_path, f"--inventory={inventory}", "-W", "error", env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout
    assert "Warning" not in run.stdout + run.stderr
    # the same metadata is live: it marks the package for rewriting, so the step modules the
    # plugin imports once pytest has started are rewritten (their asserts explain themselves)
    rewritten = subprocess.run(
        [sys.executable, "-c", "import pytest, sys; code = pytest.main(sys.argv[1:]); "
         "print(type(sys.modules['backup_drills.steps.markers'].__loader__).__name__)",
         str(ROOT / "features"), f"--inventory={inventory}", "--collect-only", "-q",
         "-p", "no:cacheprovider", "-W", "error"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert rewritten.stdout.rstrip().endswith("AssertionRewritingHook"), rewritten.stdout + rewritten.stderr


def test_the_drills_progress_shows_on_the_live_log_with_log_cli_alone(tmp_path):
    inventory = tiny_estate(tmp_path / "estate")
    quiet = backup_drills_run(tmp_path, f"--inventory={inventory}")
    live = backup_drills_run(tmp_path, f"--inventory={inventory}", "-o", "log_cli=true")
    assert quiet.returncode == live.returncode == 0, live.stdout + live.stderr
    steps = ["nightly@runner: scenario The job's status marker reports a success younger than the RPO",
             "nightly@runner: When I read the job's status marker",
             "nightly@runner: And the marker is younger than the job's RPO"]
    assert all(line in live.stdout for line in steps), live.stdout
    assert not any(line in quiet.stdout for line in steps), quiet.stdout
    without_logging = backup_drills_run(tmp_path, f"--inventory={inventory}", "-p", "no:logging",
                                        "--collect-only")
    assert without_logging.returncode == 0, without_logging.stdout + without_logging.stderr


def test_the_end_of_a_run_says_how_many_could_not_run(tmp_path):
    """pytest's own line says "1 failed": the unreachable host's scenario could not run (exit 2,
    not 1); the line's other cases: ``reporting.verdict_line``'s examples."""
    inventory = tiny_estate(tmp_path / "estate")
    doc = yaml.safe_load(inventory.read_text())
    doc["hosts"]["runner"]["transport"] = "ssh://drill@127.0.0.1:9"  # nothing listens: refused
    inventory.write_text(yaml.safe_dump(doc))
    unreachable = backup_drills_run(tmp_path, f"--inventory={inventory}")
    assert unreachable.returncode == 2, unreachable.stdout + unreachable.stderr
    assert "drill: 1 could not run (no verdict), 0 not compliant: exit 2 (could not run)" in \
        unreachable.stdout
