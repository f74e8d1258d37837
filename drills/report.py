"""The drill's HTML report: Allure 3 (npm, no Java) turns Allure results into one HTML file,
keeping a history file so status and duration trends show across runs.

    >>> command = allure_command(Path("reports/allure-results"), Path("reports/html"),
    ...                          Path("reports/history.jsonl"), "Backup drill", Path("allure"))
    >>> command[:4]
    ['allure', 'awesome', 'reports/allure-results', '--single-file']
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
BUNDLED = PROJECT / "tools/allure/node_modules/.bin/allure"
TIMEOUT_SECONDS = 300


class ReportError(Exception):
    """The report could not be built: no results, no Allure, or Allure failed."""


def find_allure() -> Path:
    """``$ALLURE``, else the copy ``make setup`` installs under tools/allure, else ``allure``
    on PATH."""
    configured = os.environ.get("ALLURE")
    if configured:
        return Path(configured)
    if BUNDLED.exists():
        return BUNDLED
    found = shutil.which("allure")
    if found is None:
        raise ReportError("Allure 3 not found: run `make setup` (installs it with npm under "
                          "tools/allure) or set ALLURE to its path")
    return Path(found)


def allure_command(results: Path, out: Path, history: Path, name: str, allure: Path) -> list[str]:
    """The Allure 3 command line for a single-file report with history."""
    return [str(allure), "awesome", str(results), "--single-file", "-o", str(out),
            "--history-path", str(history), "--report-name", name]


def build_report(results: Path, out: Path, history: Path, name: str = "Backup drill") -> Path:
    """Build ``out/index.html`` from ``results``; append this run to ``history``."""
    if not results.is_dir() or not any(results.glob("*-result.json")):
        raise ReportError(f"{results}: no Allure results; run `pytest features/` first")
    history.parent.mkdir(parents=True, exist_ok=True)
    command = allure_command(results, out, history, name, find_allure())
    environment = {**os.environ, "NO_COLOR": "1"}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS,
                              env=environment, check=False)
    except FileNotFoundError as exc:
        raise ReportError(f"{command[0]}: {exc.strerror}; run `make setup`") from None
    except subprocess.TimeoutExpired:
        raise ReportError(f"Allure did not finish within {TIMEOUT_SECONDS}s") from None
    index = out / "index.html"
    if done.returncode != 0 or not index.exists():
        raise ReportError(f"Allure failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    return index
