"""Evidence: what a drill measured, kept for the report and written as JSON.

    >>> log = EvidenceLog(run_id="20261122T090000Z")
    >>> log.record("flux-backup@motoko", restore_seconds=3.2, snapshot_age_seconds=120.0)
    >>> log.jobs["flux-backup@motoko"]["restore_seconds"]
    3.2
"""

from __future__ import annotations

import base64
import html
import importlib.util
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backup_drills import __version__
from backup_drills.core.secrets import mask
from backup_drills.evidence.records import SCHEMA_VERSION as SCHEMA_VERSION  # docs/evidence.schema.json
from backup_drills.evidence.trends import Point, load_history, plot

OUTCOMES = ("verified", "not_compliant", "could_not_run", "waived")
SUMMARY_CSS = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
               "td,th{border:1px solid #bbb;padding:4px 8px;text-align:left}"
               "td.verdict{font-weight:bold}figure{display:inline-block;margin:1em}")


@dataclass
class EvidenceLog:
    run_id: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"))
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    scenarios: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    history: dict[str, list[Point]] = field(default_factory=dict)
    history_dir: Path | None = None  # past runs' evidence, read one job at a time when asked
    shard: str | None = None  # "2/3" for one part of a sharded drill (``--shard``)
    # scenarios the run left out for a job, and why ("writes not allowed"): neither verified
    # nor failed
    not_run: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    # trend charts already drawn where the job was drilled (an xdist worker, when its run ended)
    drawn: dict[str, bytes] = field(default_factory=dict)

    def __repr__(self) -> str:  # shown as a step parameter in the report: keep it short
        return f"EvidenceLog(run {self.run_id}, {len(self.jobs | self.scenarios)} job(s))"

    def record(self, job_id: str, **measured: Any) -> None:
        """Merge measurements for one job (``job@host``); ``sources`` (what each measurement was
        taken on: which snapshot, marker or dump) and ``restores`` (partial restores by path)
        merge key by key."""
        known = self.jobs.setdefault(job_id, {})
        merged = {key: {**known.get(key, {}), **measured.pop(key, {})} for key in ("sources", "restores")}
        known.update(measured)
        known.update({key: value for key, value in merged.items() if value})

    def outcome(self, job_id: str, scenario: str, outcome: str, controls: list[str],
                message: str = "") -> None:
        """What one scenario concluded for one job: one of ``OUTCOMES``."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}, expected one of {OUTCOMES}")
        self.scenarios.setdefault(job_id, []).append(
            {"scenario": scenario, "outcome": outcome, "controls": controls,
             "message": mask(message)[:2000]})

    def left_out(self, job_id: str, scenario: str, reason: str) -> None:
        """A scenario not run for one job, and why; recorded once however often it is told.

        >>> log = EvidenceLog()
        >>> log.left_out("flux-backup@motoko", "A canary ...", "writes not allowed")
        >>> log.not_run["flux-backup@motoko"]
        [{'scenario': 'A canary ...', 'reason': 'writes not allowed'}]
        """
        entries = self.not_run.setdefault(job_id, [])
        if {"scenario": scenario, "reason": reason} not in entries:
            entries.append({"scenario": scenario, "reason": reason})

    def verdict(self, job_id: str) -> str:
        """The job's verdict: the worst of its scenarios' outcomes."""
        seen = {s["outcome"] for s in self.scenarios.get(job_id, [])}
        return next((o for o in ("not_compliant", "could_not_run", "waived") if o in seen),
                    "verified")

    def past(self, job_id: str) -> list[Point]:
        """The job's points from past runs: ``history``, else read from ``history_dir`` the first
        time they are asked for (a worker of ``-n 8`` reads only its own jobs' files).

        >>> EvidenceLog(history_dir=Path("/nonexistent")).past("flux-backup@motoko")
        []
        """
        if job_id not in self.history and self.history_dir is not None:
            found = load_history(self.history_dir, exclude_run=self.run_id, job=job_id)
            self.history[job_id] = found.get(job_id, [])
        return self.history.get(job_id, [])

    def trend(self, job_id: str) -> bytes | None:
        """PNG of the job's restore duration and data age over past runs and this one; None
        when no run measured either, or matplotlib (the ``plot`` extra) is not installed."""
        if importlib.util.find_spec("matplotlib") is None:
            return None
        measured = self.jobs.get(job_id, {})
        points = [*self.past(job_id), Point.of(self.run_id, measured)]
        points = [p for p in points if p.measured]
        if not points:
            return None
        return plot(job_id, points, measured.get("rto_seconds"), measured.get("rpo_seconds"))

    def write(self, directory: Path) -> Path:
        """Under ``directory/<run>/``: one JSON file per job, ``<job>.trend.png`` for jobs with
        measurements, and the auditors' ``summary.md`` and ``summary.html``; every registered
        secret masked (``backup_drills.core.secrets``)."""
        folder = directory / self.run_id
        folder.mkdir(parents=True, exist_ok=True)
        plots: dict[str, bytes] = {}
        for job_id in sorted(self.jobs.keys() | self.scenarios.keys()):
            doc = {"schema_version": SCHEMA_VERSION, "suite_version": __version__,
                   "run_id": self.run_id, "job": job_id, "verdict": self.verdict(job_id),
                   **({"shard": self.shard} if self.shard else {}),
                   "measured": self.jobs.get(job_id, {}),
                   "scenarios": self.scenarios.get(job_id, []),
                   **({"not_run": self.not_run[job_id]} if job_id in self.not_run else {})}
            (folder / f"{job_id}.json").write_text(mask(json.dumps(doc, indent=2, default=str)) + "\n")
            png = self.drawn[job_id] if job_id in self.drawn else self.trend(job_id)
            if png is not None:
                plots[job_id] = png
                (folder / f"{job_id}.trend.png").write_bytes(png)
        (folder / "summary.md").write_text(mask(self.summary_markdown()))
        (folder / "summary.html").write_text(mask(self.summary_html(plots)))
        return folder

    def summary_rows(self) -> list[dict[str, str]]:
        """One row per job for auditors: verdict, measured RTO and RPO evidence, controls."""
        rows = []
        for job_id in sorted(self.jobs.keys() | self.scenarios.keys()):
            m, scenarios = self.jobs.get(job_id, {}), self.scenarios.get(job_id, [])
            restored = m.get("sources", {}).get("restore_seconds")
            restore = (f"{m['restore_seconds']:.1f}s (RTO {m['rto_seconds']:.0f}s)"
                       + (f", {restored}" if restored else "")
                       if isinstance(m.get("restore_seconds"), int | float)
                       and isinstance(m.get("rto_seconds"), int | float) else "-")
            age_key = next((k for k in ("snapshot_age_seconds", "marker_age_seconds")
                            if isinstance(m.get(k), int | float)), None)
            age = (f"{m[age_key] / 3600:.1f}h (RPO {m.get('rpo_seconds', 0) / 3600:.0f}h)"
                   if age_key else "-")
            controls = sorted({c for s in scenarios for c in s["controls"]})
            passed = sum(s["outcome"] == "verified" for s in scenarios)
            reasons = [entry["reason"] for entry in self.not_run.get(job_id, [])]
            not_run = "".join(f", {reasons.count(r)} not run: {r}" for r in sorted(set(reasons)))
            rows.append({"job": job_id, "verdict": self.verdict(job_id),
                         "restore (RTO)": restore, "data age (RPO)": age,
                         "scenarios": f"{passed}/{len(scenarios)} verified{not_run}",
                         "controls": ", ".join(controls) or "-"})
        return rows

    def summary_markdown(self) -> str:
        """The summary rows as a Markdown table."""
        rows = self.summary_rows()
        header = list(rows[0]) if rows else ["job"]
        lines = [f"# Drill evidence, run {self.run_id}", "", "| " + " | ".join(header) + " |",
                 "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row.values()) + " |" for row in rows]
        return "\n".join(lines) + "\n"

    def summary_html(self, plots: dict[str, bytes]) -> str:
        """The summary rows as one self-contained HTML page, each job's trend plot inlined."""
        rows = self.summary_rows()
        header = list(rows[0]) if rows else ["job"]
        cells = "".join(
            "<tr>" + "".join(f'<td class="{html.escape(k.split()[0])}">{html.escape(v)}</td>'
                             for k, v in row.items()) + "</tr>" for row in rows)
        figures = "".join(
            f'<figure><img alt="trend of {html.escape(job)}" src="data:image/png;base64,'
            f'{base64.b64encode(png).decode()}"><figcaption>{html.escape(job)}</figcaption></figure>'
            for job, png in plots.items())
        title = f"Drill evidence, run {html.escape(self.run_id)}"
        return (f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{title}</title><style>{SUMMARY_CSS}</style></head><body>"
                f"<h1>{title}</h1><p>Suite {html.escape(__version__)}. Restore time is RTO "
                f"evidence, data age is RPO evidence.</p><table><thead><tr>"
                + "".join(f"<th>{html.escape(h)}</th>" for h in header)
                + f"</tr></thead><tbody>{cells}</tbody></table>"
                f"<h2>Across runs</h2>{figures or '<p>No run measured a restore or an age.</p>'}"
                "</body></html>\n")

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
