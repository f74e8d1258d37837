"""One run from the shards of a drill (``pytest features/ --shard i/n`` on n runners): their
evidence folders and Allure results merged into one evidence folder (every job once), one
summary, one controls matrix, one manifest and one exit code by the drill's own rule (0 verified,
1 not compliant, 2 could not run). A job in two shards, a missing shard, shards of different
drills, a job id that is not ``name@host``, a job without scenarios or a malformed file is an
error, named. Signing the merged run (``--sign``) needs the shards' public key (``--key``): every
shard's manifest is verified on the way in, so a forged shard is never signed. The merged
manifest lists the shard manifests it absorbed (kept under ``shards/``).

    $ backup-drills merge --evidence shard-*/reports/evidence --allure shard-*/reports/allure-results \\
        --out merged --key evidence.pub --sign evidence.key

    >>> exit_code(["verified", "waived", "could_not_run"])
    2
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backup_drills.evidence import manifest
from backup_drills.evidence.controls import matrix, render_markdown
from backup_drills.evidence.log import EvidenceLog
from backup_drills.evidence.signing import SigningError, SigningKey, sign


class MergeError(ValueError):
    """Shards that do not make one run: the message names the shard and what was expected."""


class Malformed(MergeError):
    """A shard's file that cannot be read as evidence (exit 4): the message names the file."""


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
    """A shard's evidence run folder: ``path`` itself when it holds a manifest or job files, else
    its one run."""
    def is_run(folder: Path) -> bool:
        return (folder / manifest.MANIFEST).exists() or any(folder.glob("*@*.json"))

    if not path.is_dir():
        raise MergeError(f"{path}: no such folder (expected a shard's evidence folder)")
    if is_run(path):
        return path
    runs = sorted(p for p in path.iterdir() if p.is_dir() and is_run(p))
    if len(runs) != 1:
        raise MergeError(f"{path}: expected one shard's evidence run (job files <job>@<host>.json), "
                         f"found {len(runs)} run folder(s)")
    return runs[0]


def merge(evidence: list[Path], out: Path, allure: list[Path] | None = None,
          public_key: Path | None = None, private_key: SigningKey | None = None,
          allowed_signers: Path | None = None) -> Merged:
    """Merge the shards' evidence (and Allure results) into ``out``."""
    if private_key is not None and public_key is None and allowed_signers is None:
        raise MergeError("--sign needs --key (the shards' public key): a merged run is signed "
                         "only when every shard's manifest verifies")
    folders = [run_folder(path) for path in evidence]
    shard_manifests = [_checked_shard(folder, public_key, allowed_signers) for folder in folders]
    run_ids = [doc["run_id"] if doc else folder.name
               for doc, folder in zip(shard_manifests, folders, strict=True)]
    log = EvidenceLog(run_id=min(run_ids) + "-merged")
    where: dict[str, Path] = {}
    shards: dict[str, Path] = {}
    expected: set[str] = set()
    for folder, doc in zip(folders, shard_manifests, strict=True):
        if doc:
            expected.update(doc["expected_jobs"])
        for file in sorted(folder.glob("*.json")):
            if file.name in ("controls.json", manifest.MANIFEST):
                continue
            job_doc = _job_doc(file, out)
            job = job_doc["job"]
            if job in where:
                raise MergeError(f"job {job} is in two shards: {where[job]} and {folder}")
            where[job] = folder
            shard = job_doc.get("shard")
            if shard:
                shards.setdefault(str(shard), folder)
            log.record(job, **job_doc.get("measured", {}))
            log.scenarios[job] = list(job_doc["scenarios"])
            for entry in job_doc.get("not_run", []):
                log.left_out(job, str(entry["scenario"]), str(entry.get("reason", "")))
    _check_shards(shards)
    if not where:
        raise MergeError(f"no job in {', '.join(map(str, folders))}: nothing to merge")
    target = log.write(out)
    for folder in folders:  # each job's trend as its shard drew it (with its own history)
        for png in folder.glob("*.trend.png"):
            shutil.copy2(png, target / png.name)
    rows = matrix(target)
    (target / "controls.json").write_text(json.dumps(rows, indent=2) + "\n")
    (target / "controls.md").write_text(render_markdown(rows))
    absorbed = _keep_shard_manifests(folders, shard_manifests, target)
    now = datetime.now(UTC)
    facts = manifest.RunFacts(run_id=log.run_id, started=now, ended=now,
                              expected_jobs=sorted(expected | set(where)), shards=absorbed)
    if any(shard_manifests):
        docs = [doc for doc in shard_manifests if doc]
        facts.started = min(_when(d, "started", now) for d in docs)
        facts.ended = max(_when(d, "ended", now) for d in docs)
        facts.waivers = [w for d in docs for w in d.get("waivers", []) if isinstance(w, dict)]
    written = manifest.write(target, facts)
    if allure:
        _merge_allure(allure, out / "allure-results")
    if private_key is not None:
        try:
            sign(written, private_key)
        except SigningError as exc:
            raise MergeError(f"--sign: {exc}") from None
    return Merged(target, {job: log.verdict(job) for job in sorted(where)}, sorted(shards))


def _when(doc: dict[str, Any], key: str, default: datetime) -> datetime:
    try:
        return datetime.fromisoformat(str(doc[key]))
    except (KeyError, ValueError):
        return default


def _checked_shard(folder: Path, public_key: Path | None, allowed_signers: Path | None
                   ) -> dict[str, Any] | None:
    """The shard's manifest, verified with the key when one is given (every failure named);
    None for a shard without a manifest merged without a key."""
    path = folder / manifest.MANIFEST
    if public_key is not None or allowed_signers is not None:
        try:
            problems = manifest.verify_run(folder, public_key, allowed_signers)
        except SigningError as exc:
            raise MergeError(f"--key: {exc}") from None
        if problems.unreadable:
            raise Malformed("; ".join(problems.unreadable))
        if problems.failures:
            raise MergeError(f"{folder}: shard does not verify, nothing merged:\n  "
                             + "\n  ".join(problems.failures))
    if not path.exists():
        return None
    try:
        return manifest.load(path)
    except manifest.Unreadable as exc:
        raise Malformed(str(exc)) from None


def _job_doc(file: Path, out: Path) -> dict[str, Any]:
    """A shard's job file, checked: readable, a ``name@host`` job named as its file, inside
    ``out`` once written, with at least one scenario."""
    try:
        doc = manifest.load_job(file)
    except manifest.Unreadable as exc:
        raise Malformed(str(exc)) from None
    job = doc["job"]
    if not manifest.JOB_ID.fullmatch(job):
        raise Malformed(f"{file}: key 'job': expected a job id name@host (names of letters, "
                        f"digits, '.', '_', '-'), got {job!r:.80}")
    root = out.resolve()
    if not (root / "x" / f"{job}.json").resolve().is_relative_to(root):
        raise Malformed(f"{file}: job {job!r} would be written outside --out {out}")
    if file.name != f"{job}.json":
        raise MergeError(f"{file}: holds job {job} but is named {file.name}: renamed")
    if not doc["scenarios"]:
        raise MergeError(f"{file}: job {job} has no scenarios: nothing was drilled, nothing to merge")
    return doc


def _keep_shard_manifests(folders: list[Path], docs: list[dict[str, Any] | None], target: Path
                          ) -> list[dict[str, str]]:
    """Copy each shard's manifest and signature to ``shards/<n>/``; their run ids and digests."""
    absorbed = []
    for number, (folder, doc) in enumerate(zip(folders, docs, strict=True), start=1):
        if doc is None:
            continue
        kept = target / "shards" / str(number)
        kept.mkdir(parents=True, exist_ok=True)
        entry = {"run_id": doc["run_id"], "path": f"shards/{number}/{manifest.MANIFEST}",
                 "sha256": manifest.sha256(folder / manifest.MANIFEST)}
        if doc.get("shard"):
            entry["shard"] = str(doc["shard"])
        shutil.copy2(folder / manifest.MANIFEST, kept / manifest.MANIFEST)
        if (folder / manifest.SIGNATURE).is_file():
            shutil.copy2(folder / manifest.SIGNATURE, kept / manifest.SIGNATURE)
            entry["signature_sha256"] = manifest.sha256(folder / manifest.SIGNATURE)
        absorbed.append(entry)
    return absorbed


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
