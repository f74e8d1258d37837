"""Restore duration and data age across runs, read back from evidence files and plotted.

    >>> point = Point.of("20261122T090000Z", {"restore_seconds": 4.1, "snapshot_age_seconds": 7200})
    >>> (point.restore_seconds, point.age_hours)
    (4.1, 2.0)
    >>> png = plot("flux-backup@motoko", [point], rto_seconds=900, rpo_seconds=93600)
    >>> png[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

AGE_KEYS = ("snapshot_age_seconds", "marker_age_seconds")
RUNS_SHOWN = 30


@dataclass(frozen=True)
class Point:
    """What one run measured for one job: restore time (RTO evidence), data age (RPO evidence)."""

    run_id: str
    restore_seconds: float | None
    age_hours: float | None

    @classmethod
    def of(cls, run_id: str, measured: dict[str, Any]) -> Point:
        restore = measured.get("restore_seconds")
        age = next((measured[k] for k in AGE_KEYS if isinstance(measured.get(k), int | float)), None)
        return cls(run_id, float(restore) if isinstance(restore, int | float) else None,
                   age / 3600 if age is not None else None)

    @property
    def measured(self) -> bool:
        return self.restore_seconds is not None or self.age_hours is not None


def load_history(evidence_dir: Path, exclude_run: str = "", job: str | None = None) -> dict[str, list[Point]]:
    """Every job's points (or only ``job``'s) from ``evidence_dir/<run>/<job>.json``, oldest run
    first; runs that measured nothing for a job and unreadable files are left out."""
    history: dict[str, list[Point]] = {}
    if not evidence_dir.is_dir():
        return history
    for run in sorted(p for p in evidence_dir.iterdir() if p.is_dir() and p.name != exclude_run):
        for path in [run / f"{job}.json"] if job is not None else sorted(run.glob("*@*.json")):
            try:
                doc = json.loads(path.read_text())
                point = Point.of(str(doc["run_id"]), dict(doc.get("measured") or {}))
                job = str(doc["job"])
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if point.measured:
                history.setdefault(job, []).append(point)
    return history


def run_label(run_id: str) -> str:
    """``20261122T090000Z`` as ``11-22 09:00`` (other run IDs as they are)."""
    if len(run_id) >= 13 and run_id[8] == "T":
        return f"{run_id[4:6]}-{run_id[6:8]} {run_id[9:11]}:{run_id[11:13]}"
    return run_id


def plot(job_id: str, points: list[Point], rto_seconds: float | None = None,
         rpo_seconds: float | None = None) -> bytes:
    """A PNG with two panels: restore duration against the RTO, data age against the RPO."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    points = points[-RUNS_SHOWN:]
    labels = [run_label(p.run_id) for p in points]
    figure, (top, bottom) = pyplot.subplots(2, 1, figsize=(7, 4.6), sharex=True)
    panels = ((top, [p.restore_seconds for p in points], "restore (s)", rto_seconds, "RTO", "s"),
              (bottom, [p.age_hours for p in points], "data age (h)",
               rpo_seconds / 3600 if rpo_seconds else None, "RPO", "h"))
    for axis, values, unit, target, name, suffix in panels:
        shown = [(i, v) for i, v in enumerate(values) if v is not None]
        if shown:
            axis.plot([i for i, _ in shown], [v for _, v in shown], marker="o", color="#2f6fb0")
        top_value = max((v for _, v in shown), default=0.0) * 1.25 or 1.0
        if target and target <= 3 * top_value:
            axis.axhline(target, color="#c0392b", linestyle="--", linewidth=1,
                         label=f"{name} {target:g}{suffix}")
            axis.legend(loc="upper left", fontsize=8)
            top_value = max(top_value, target * 1.1)
        elif target:  # far above the measurements: say so rather than flatten them
            axis.text(0.01, 0.92, f"{name} {target:g}{suffix}: far above", transform=axis.transAxes,
                      color="#c0392b", fontsize=8, va="top")
        axis.set_ylabel(unit)
        axis.set_ylim(0, top_value)
        axis.grid(alpha=0.3)
    bottom.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=7)
    top.set_title(f"{job_id}: restore duration and data age, last {len(points)} run(s)", fontsize=10)
    figure.subplots_adjust(left=0.1, right=0.98, top=0.92, bottom=0.2, hspace=0.15)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    pyplot.close(figure)
    return buffer.getvalue()
