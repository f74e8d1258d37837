"""The controls matrix: per compliance control, every run and job that evidenced it, with its
result and measured times, aggregated from an evidence directory.

    >>> rows = matrix(Path("reports/evidence"))                       # doctest: +SKIP
    >>> rows["ISO27001-A.8.13"][0]["outcome"]                         # doctest: +SKIP
    'verified'
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def matrix(directory: Path) -> dict[str, list[dict[str, Any]]]:
    """Control -> rows (run, job, scenario, outcome, restore seconds, data age), oldest first."""
    controls: dict[str, list[dict[str, Any]]] = {}
    for file in sorted(directory.rglob("*.json")):
        try:
            doc = json.loads(file.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(doc, dict) or doc.get("schema_version", 0) < 2:
            continue
        measured = doc.get("measured", {})
        for scenario in doc.get("scenarios", []):
            for control in scenario.get("controls", []):
                controls.setdefault(control, []).append({
                    "run": doc["run_id"], "job": doc["job"], "scenario": scenario["scenario"],
                    "outcome": scenario["outcome"],
                    "restore_seconds": measured.get("restore_seconds"),
                    "data_age_seconds": measured.get("snapshot_age_seconds",
                                                     measured.get("marker_age_seconds"))})
    return {name: sorted(rows, key=lambda r: (r["run"], r["job"], r["scenario"]))
            for name, rows in sorted(controls.items())}


def render_markdown(rows_by_control: dict[str, list[dict[str, Any]]]) -> str:
    lines = ["# Controls matrix", ""]
    for control, rows in rows_by_control.items():
        verified = sum(r["outcome"] == "verified" for r in rows)
        lines += [f"## {control}", "", f"{verified} of {len(rows)} drills verified.", "",
                  "| run | job | scenario | outcome | restore | data age |",
                  "|---|---|---|---|---|---|"]
        for r in rows:
            restore = f"{r['restore_seconds']:.1f}s" if r["restore_seconds"] is not None else "-"
            age = (f"{r['data_age_seconds'] / 3600:.1f}h" if r["data_age_seconds"] is not None
                   else "-")
            lines.append(f"| {r['run']} | {r['job']} | {r['scenario']} | {r['outcome']} | "
                         f"{restore} | {age} |")
        lines.append("")
    return "\n".join(lines)
