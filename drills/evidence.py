"""Evidence: what a drill measured, kept for the report and written as JSON.

    >>> log = EvidenceLog(run_id="20261122T090000Z")
    >>> log.record("flux-backup@motoko", restore_seconds=3.2, snapshot_age_seconds=120.0)
    >>> log.jobs["flux-backup@motoko"]["restore_seconds"]
    3.2
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drills import __version__

SCHEMA_VERSION = 2
OUTCOMES = ("verified", "not_compliant", "could_not_run", "waived")


@dataclass
class EvidenceLog:
    run_id: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"))
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    scenarios: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def record(self, job_id: str, **measured: Any) -> None:
        """Merge measurements for one job (``job@host``)."""
        self.jobs.setdefault(job_id, {}).update(measured)

    def outcome(self, job_id: str, scenario: str, outcome: str, controls: list[str],
                message: str = "") -> None:
        """What one scenario concluded for one job: one of ``OUTCOMES``."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}, expected one of {OUTCOMES}")
        self.scenarios.setdefault(job_id, []).append(
            {"scenario": scenario, "outcome": outcome, "controls": controls,
             "message": message[:2000]})

    def verdict(self, job_id: str) -> str:
        """The job's verdict: the worst of its scenarios' outcomes."""
        seen = {s["outcome"] for s in self.scenarios.get(job_id, [])}
        return next((o for o in ("not_compliant", "could_not_run", "waived") if o in seen),
                    "verified")

    def write(self, directory: Path) -> Path:
        """One JSON file per job and a ``summary.md`` under ``directory/<run>/``."""
        folder = directory / self.run_id
        folder.mkdir(parents=True, exist_ok=True)
        for job_id in sorted(self.jobs.keys() | self.scenarios.keys()):
            doc = {"schema_version": SCHEMA_VERSION, "suite_version": __version__,
                   "run_id": self.run_id, "job": job_id, "verdict": self.verdict(job_id),
                   "measured": self.jobs.get(job_id, {}),
                   "scenarios": self.scenarios.get(job_id, [])}
            (folder / f"{job_id}.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
        (folder / "summary.md").write_text(self.summary_markdown())
        return folder

    def summary_markdown(self) -> str:
        """One row per job for auditors: verdict, measured RTO and RPO evidence, controls."""
        rows = [f"# Drill evidence, run {self.run_id}", "",
                "| job | verdict | restore (RTO) | data age (RPO) | scenarios | controls |",
                "|---|---|---|---|---|---|"]
        for job_id in sorted(self.jobs.keys() | self.scenarios.keys()):
            m, scenarios = self.jobs.get(job_id, {}), self.scenarios.get(job_id, [])
            restore = (f"{m['restore_seconds']:.1f}s (RTO {m['rto_seconds']:.0f}s)"
                       if isinstance(m.get("restore_seconds"), int | float)
                       and isinstance(m.get("rto_seconds"), int | float) else "-")
            age_key = next((k for k in ("snapshot_age_seconds", "marker_age_seconds")
                            if isinstance(m.get(k), int | float)), None)
            age = (f"{m[age_key] / 3600:.1f}h (RPO {m.get('rpo_seconds', 0) / 3600:.0f}h)"
                   if age_key else "-")
            controls = sorted({c for s in scenarios for c in s["controls"]})
            passed = sum(s["outcome"] == "verified" for s in scenarios)
            rows.append(f"| {job_id} | {self.verdict(job_id)} | {restore} | {age} | "
                        f"{passed}/{len(scenarios)} verified | {', '.join(controls) or '-'} |")
        return "\n".join(rows) + "\n"

    def summary_lines(self) -> list[str]:
        """One line per job: measured restore time against RTO, data age against RPO."""
        lines = []
        for job_id in sorted(self.jobs):
            m = self.jobs[job_id]
            parts = [f"{job_id:28}"]
            if "restore_seconds" in m:
                rto = m.get("rto_seconds")
                parts.append(f"restore {m['restore_seconds']:.1f}s"
                             + (f" (RTO {rto:.0f}s)" if rto else ""))
            for key, label in (("snapshot_age_seconds", "snapshot age"),
                               ("marker_age_seconds", "marker age")):
                if key in m:
                    rpo = m.get("rpo_seconds")
                    parts.append(f"{label} {m[key] / 3600:.1f}h"
                                 + (f" (RPO {rpo / 3600:.0f}h)" if rpo else ""))
            if len(parts) > 1:
                lines.append("  ".join(parts))
        return lines
