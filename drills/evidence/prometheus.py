"""Drill results as a Prometheus textfile for node_exporter's textfile collector.

    >>> text = render({"flux-backup@motoko": True},
    ...               {"flux-backup@motoko": {"restore_seconds": 1.8}}, now=1700000000.0)
    >>> print(text.splitlines()[2])
    backup_drill_verified{job="flux-backup",host="motoko"} 1
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

_GAUGES = (
    ("backup_drill_restore_seconds", "restore_seconds",
     "Seconds the last full restore took (RTO evidence)."),
    ("backup_drill_snapshot_age_seconds", "snapshot_age_seconds",
     "Age of the latest snapshot at drill time (RPO evidence)."),
    ("backup_drill_marker_age_seconds", "marker_age_seconds",
     "Age of the job's status marker at drill time (RPO evidence)."),
    ("backup_drill_rto_seconds", "rto_seconds", "The job's declared RTO."),
    ("backup_drill_rpo_seconds", "rpo_seconds", "The job's declared RPO."),
)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(job_id: str) -> str:
    job, _, host = job_id.partition("@")
    return f'job="{_escape(job)}",host="{_escape(host)}"'


def render(verified: dict[str, bool], measured: dict[str, dict[str, Any]],
           now: float | None = None) -> str:
    lines = ["# HELP backup_drill_verified 1 when every drill of the job passed in the last run.",
             "# TYPE backup_drill_verified gauge"]
    lines += [f"backup_drill_verified{{{_labels(j)}}} {int(ok)}" for j, ok in sorted(verified.items())]
    for metric, key, help_text in _GAUGES:
        rows = [(j, m[key]) for j, m in sorted(measured.items())
                if isinstance(m.get(key), int | float)]
        if rows:
            lines += [f"# HELP {metric} {help_text}", f"# TYPE {metric} gauge"]
            lines += [f"{metric}{{{_labels(j)}}} {value:g}" for j, value in rows]
    lines += ["# HELP backup_drill_last_run_timestamp_seconds When the drill run ended.",
              "# TYPE backup_drill_last_run_timestamp_seconds gauge",
              f"backup_drill_last_run_timestamp_seconds {now if now is not None else time.time():.0f}"]
    return "\n".join(lines) + "\n"


def write_textfile(path: Path, text: str) -> None:
    """Write atomically (temp file + rename), as the textfile collector requires."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)
