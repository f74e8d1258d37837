"""One run from the shards of a drill (``pytest features/ --shard i/n`` on n runners): their
evidence folders and Allure results merged into one evidence folder (every job once), one
summary, one controls matrix and one exit code by the drill's own rule (0 verified, 1 not
compliant, 2 could not run). A job in two shards, a missing shard or shards of different
drills is an error, named; with a public key, every shard's evidence is verified on the way in,
and with a private key the merged evidence is signed again.

    $ backup-drills merge --evidence shard-*/reports/evidence --allure shard-*/reports/allure-results \\
        --out merged --key evidence.pub --sign evidence.key

    >>> exit_code(["verified", "waived", "could_not_run"])
    2
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drills.evidence.controls import matrix, render_markdown
from drills.evidence.log import EvidenceLog
from drills.evidence.signing import SigningError, sign_file, verify_path


class MergeError(ValueError):
    """Shards that do not make one run: the message names the shard and what was expected."""


@dataclass
class Merged:
    folder: Path
    jobs: dict[str, str] = field(default_factory=dict)  # job -> verdict
    shards: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return exit_code(list(self.jobs.values()))


def exit_code(verdicts: list[str]) -> int:
    """The drill's rule: 1 when a job is not compliant, else 2 when one could not run, else 0."""
    if "not_compliant" in verdicts:
        return 1
    return 2 if "could_not_run" in verdicts else 0


def run_folder(path: Path) -> Path:
    """A shard's evidence run folder: ``path`` itself when it holds job files, else its one run."""
    if any(path.glob("*@*.json")):
        return path
    runs = sorted(p for p in path.iterdir() if p.is_dir() and any(p.glob("*@*.json"))) \
        if path.is_dir() else []
    if len(runs) != 1:
        raise MergeError(f"{path}: expected one shard's evidence run (job files <job>@<host>.json), "
                         f"found {len(runs)} run folder(s)")
    return runs[0]


def merge(evidence: list[Path], out: Path, allure: list[Path] | None = None,
          public_key: Path | None = None, private_key: Path | None = None) -> Merged:
    """Merge the shards' evidence (and Allure results) into ``out``."""
    folders = [run_folder(path) for path in evidence]
    log = EvidenceLog(run_id=min(folder.name for folder in folders) + "-merged")
    where: dict[str, Path] = {}
    shards: dict[str, Path] = {}
    for folder in folders:
        if public_key is not None:
            try:
                problems = verify_path(folder, public_key)
            except SigningError as exc:
                raise MergeError(f"--key: {exc}") from None
            if problems:
                raise MergeError(f"{folder}: evidence does not verify: {problems[0]}")
        for file in sorted(folder.glob("*@*.json")):
            doc: dict[str, Any] = json.loads(file.read_text())
            job = str(doc["job"])
            if job in where:
                raise MergeError(f"job {job} is in two shards: {where[job]} and {folder}")
            where[job] = folder
            shard = doc.get("shard")
            if shard:
                shards.setdefault(str(shard), folder)
            log.record(job, **doc.get("measured", {}))
            log.scenarios[job] = list(doc.get("scenarios", []))
            if not log.scenarios[job]:
                del log.scenarios[job]
            for entry in doc.get("not_run", []):
                log.left_out(job, str(entry["scenario"]), str(entry["reason"]))
    _check_shards(shards)
    target = log.write(out)
    for folder in folders:  # each job's trend as its shard drew it (with its own history)
        for png in folder.glob("*.trend.png"):
            shutil.copy2(png, target / png.name)
    rows = matrix(target)
    (target / "controls.json").write_text(json.dumps(rows, indent=2) + "\n")
    (target / "controls.md").write_text(render_markdown(rows))
    if allure:
        _merge_allure(allure, out / "allure-results")
    if private_key is not None:
        for file in sorted(target.glob("*.json")):
            sign_file(file, private_key)
    return Merged(target, {job: log.verdict(job) for job in sorted(where)}, sorted(shards))


def _check_shards(shards: dict[str, Path]) -> None:
    counts = {label.split("/")[1] for label in shards}
    if len(counts) > 1:
        raise MergeError(f"shards of different splits: {', '.join(sorted(shards))} (expected one n in i/n)")
    if counts:
        count = int(counts.pop())
        missing = [f"{i}/{count}" for i in range(1, count + 1) if f"{i}/{count}" not in shards]
        if missing:
            raise MergeError(f"missing shard(s) {', '.join(missing)} of {count}: only "
                             f"{', '.join(sorted(shards))} given")


def _merge_allure(results: list[Path], out: Path) -> None:
    """Every shard's results in one folder (their names are unique), ``categories.json`` once,
    ``environment.properties`` as one file of every shard's lines."""
    out.mkdir(parents=True, exist_ok=True)
    environment: dict[str, str] = {}
    for folder in results:
        if not folder.is_dir():
            raise MergeError(f"--allure {folder}: no such folder")
        for file in folder.iterdir():
            if file.name == "environment.properties":
                for line in file.read_text().splitlines():
                    key, _, value = line.partition("=")
                    environment.setdefault(key, value)
            elif file.is_file():
                shutil.copy2(file, out / file.name)
    if environment:
        (out / "environment.properties").write_text("".join(f"{k}={v}\n" for k, v in environment.items()))
