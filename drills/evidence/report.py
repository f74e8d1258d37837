"""The drill's HTML report: Allure 3 (npm, no Java) turns Allure results into one HTML file,
keeping a history file so status and duration trends show across runs. The categories the
drill writes (``categories.json``: "backup is broken" apart from "drill could not run") are
handed to Allure 3 as its configuration, and the analytics tag Allure's template carries is
removed, so the report loads nothing from the network.

    >>> command = allure_command(Path("reports/allure-results"), Path("reports/html"),
    ...                          Path("reports/history.jsonl"), "Backup drill", Path("allure"))
    >>> command[:4]
    ['allure', 'awesome', 'reports/allure-results', '--single-file']
    >>> strip_analytics('<p>x</p><script async src="https://www.googletagmanager.com/gtag/js?id=G"></script>'
    ...                 '<script>window.dataLayer = []; gtag("config", "G");</script>')
    '<p>x</p>'
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from backup_drills.exit_codes import ExitCode

PROJECT = Path(__file__).resolve().parents[2]
BUNDLED = PROJECT / "tools/allure/node_modules/.bin/allure"
TIMEOUT_SECONDS = 300
GROUP_BY = "epic,feature,story"  # runbook, feature, job: the tree an auditor walks
# Allure's awesome template always carries a Google Analytics tag (no switch turns it off)
ANALYTICS = re.compile(r'<script async src="https://www\.googletagmanager\.com/[^"]*"></script>\s*'
                       r"(<script>\s*window\.dataLayer.*?</script>)?", re.DOTALL)


class ReportError(Exception):
    """The report could not be built: no results or unreadable categories (bad input), or no
    Allure, or Allure failed (could not run); ``code`` is the exit table's."""

    def __init__(self, message: str, code: ExitCode = ExitCode.COULD_NOT_RUN) -> None:
        super().__init__(message)
        self.code = code


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
        raise ReportError("Allure 3 not found: set ALLURE to its path or put `allure` on PATH "
                          "(in a checkout, make setup installs it under tools/allure)")
    return Path(found)


def allure_command(results: Path, out: Path, history: Path, name: str, allure: Path) -> list[str]:
    """The Allure 3 command line for a single-file report with history."""
    return [str(allure), "awesome", str(results), "--single-file", "-o", str(out),
            "--history-path", str(history), "--report-name", name, "--group-by", GROUP_BY]


def allure_config(results: Path) -> dict[str, object]:
    """Allure 3 configuration: the categories the drill wrote beside its results, if any."""
    categories = results / "categories.json"
    if not categories.exists():
        return {}
    try:
        return {"categories": json.loads(categories.read_text())}
    except (OSError, ValueError) as exc:
        raise ReportError(f"{categories}: not readable as JSON categories ({exc})",
                          ExitCode.BAD_INPUT) from None


def strip_analytics(page: str) -> str:
    """The report page without Allure's analytics tag (an offline report phones nowhere)."""
    return ANALYTICS.sub("", page)


def build_report(results: Path, out: Path, history: Path, name: str = "Backup drill") -> Path:
    """Build ``out/index.html`` from ``results``; append this run to ``history``."""
    if not results.is_dir() or not any(results.glob("*-result.json")):
        raise ReportError(f"{results}: no Allure results; run `backup-drills run` first",
                          ExitCode.BAD_INPUT)
    history.parent.mkdir(parents=True, exist_ok=True)
    command = allure_command(results, out, history, name, find_allure())
    environment = {**os.environ, "NO_COLOR": "1"}
    with tempfile.TemporaryDirectory(prefix="allure-config-") as folder:
        config = Path(folder) / "allurerc.json"
        config.write_text(json.dumps(allure_config(results)))
        try:
            done = subprocess.run([*command, "--config", str(config)], capture_output=True,
                                  text=True, timeout=TIMEOUT_SECONDS, env=environment, check=False)
        except FileNotFoundError as exc:
            raise ReportError(f"{command[0]}: {exc.strerror}; set ALLURE to Allure 3's path") from None
        except subprocess.TimeoutExpired:
            raise ReportError(f"Allure did not finish within {TIMEOUT_SECONDS}s") from None
    index = out / "index.html"
    if done.returncode != 0 or not index.exists():
        raise ReportError(f"Allure failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    index.write_text(strip_analytics(index.read_text()))
    return index
