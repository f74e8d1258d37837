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

SCHEMA_VERSION = 1


@dataclass
class EvidenceLog:
    run_id: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"))
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def record(self, job_id: str, **measured: Any) -> None:
        """Merge measurements for one job (``job@host``)."""
        self.jobs.setdefault(job_id, {}).update(measured)

    def write(self, directory: Path) -> Path:
        """One JSON file per job under ``directory/<run>/``; returns that folder."""
        folder = directory / self.run_id
        folder.mkdir(parents=True, exist_ok=True)
        for job_id, measured in self.jobs.items():
            doc = {"schema_version": SCHEMA_VERSION, "suite_version": __version__,
                   "run_id": self.run_id, "job": job_id, "measured": measured}
            (folder / f"{job_id}.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
        return folder

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
