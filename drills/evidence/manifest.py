"""The run manifest: one ``manifest.json`` per evidence folder that binds the run's files
together, signed once (``manifest.json.sig``, backup_drills.evidence.signing).

It holds the run id, start and end, the suite version, the inventory's sha256, the jobs the run
was to drill after selection (``name@host``), the sha256 of every file the run wrote into the
folder, the outputs it wrote elsewhere (the Prometheus textfile, JUnit) and the waivers in force
with their expiry. A merged run also lists the shard manifests it absorbed.

    >>> run = Path("reports/evidence/20261203T100000Z")
    >>> verify_run(run, Path("evidence.pub")).exit_code        # doctest: +SKIP
    0

``verify_run`` checks, in order: the signature; every listed file's digest; that every expected
job has its file; that each job file's ``run_id`` and ``job`` match the manifest and its name; that
each job ran a scenario; that there is at least one job; that no file in the folder is unlisted.
It names every failure, not the first alone. An auditor runs the same checks with ssh-keygen and
sha256sum (docs/evidence.md).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from backup_drills import __version__
from backup_drills.core.secrets import mask
from backup_drills.evidence.records import READ_VERSIONS
from backup_drills.evidence.signing import SUFFIX, SigningError, check_signature
from backup_drills.inventory.schema import NAME

MANIFEST = "manifest.json"
SIGNATURE = MANIFEST + SUFFIX
MANIFEST_VERSION = 1
JOB_ID = re.compile(rf"{NAME.pattern}@{NAME.pattern}")  # the project's job grammar: name@host
EXIT_FAILED, EXIT_UNREADABLE = 1, 4


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_job_file(name: str) -> bool:
    """``flux-backup@motoko.json``: a job's evidence file (not the manifest, controls, a trend)."""
    return name.endswith(".json") and JOB_ID.fullmatch(name[:-5]) is not None


def folder_files(folder: Path) -> list[str]:
    """Every file below ``folder`` but the manifest and its signature, relative, sorted."""
    return sorted(str(p.relative_to(folder).as_posix()) for p in folder.rglob("*")
                  if p.is_file() and p.relative_to(folder).as_posix() not in (MANIFEST, SIGNATURE))


@dataclass
class RunFacts:
    """What the run knows of itself besides its files."""

    run_id: str
    started: datetime
    ended: datetime
    expected_jobs: list[str]
    inventory: Path | None = None
    inventory_name: str = ""
    waivers: list[dict[str, str]] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)  # written outside the folder
    shard: str | None = None
    shards: list[dict[str, str]] = field(default_factory=list)  # a merged run's shard manifests


def build(folder: Path, facts: RunFacts) -> dict[str, Any]:
    """The manifest of ``folder`` as it is now."""
    inventory: dict[str, str] = {"name": facts.inventory_name}
    if facts.inventory is not None and facts.inventory.is_file():
        inventory |= {"file": facts.inventory.name, "sha256": sha256(facts.inventory)}
    doc: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION, "run_id": facts.run_id,
        "started": facts.started.isoformat(timespec="seconds"),
        "ended": facts.ended.isoformat(timespec="seconds"),
        "suite_version": __version__, "inventory": inventory,
        "expected_jobs": sorted(set(facts.expected_jobs)),
        "files": [{"path": name, "sha256": sha256(folder / name)} for name in folder_files(folder)],
        "outputs": [{"path": str(path), "sha256": sha256(path)} for path in facts.outputs
                    if path.is_file()],
        "waivers": facts.waivers}
    if facts.shard:
        doc["shard"] = facts.shard
    if facts.shards:
        doc["shards"] = facts.shards
    return doc


def write(folder: Path, facts: RunFacts) -> Path:
    """Write ``folder/manifest.json`` (any old signature removed: it no longer covers it)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SIGNATURE).unlink(missing_ok=True)
    target = folder / MANIFEST
    target.write_text(mask(json.dumps(build(folder, facts), indent=2)) + "\n")  # a waiver's words too
    return target


class Unreadable(ValueError):
    """Input that cannot be read as what it should be: the message names the file."""


def _json_object(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; Unreadable naming the file otherwise."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise Unreadable(f"{path}: not readable as JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise Unreadable(f"{path}: expected a JSON object")
    return doc


def load(path: Path) -> dict[str, Any]:
    """A manifest, its shape checked; Unreadable naming the file and key otherwise."""
    doc = _json_object(path)
    expected = {"run_id": str, "expected_jobs": list, "files": list}
    for key, kind in expected.items():
        if not isinstance(doc.get(key), kind):
            raise Unreadable(f"{path}: key {key!r}: expected a {kind.__name__}, got {doc.get(key)!r:.80}")
    for entry in doc["files"]:
        if not (isinstance(entry, dict) and isinstance(entry.get("path"), str)
                and isinstance(entry.get("sha256"), str)):
            raise Unreadable(f"{path}: key 'files': expected entries {{path, sha256}}, got {entry!r:.80}")
    if not all(isinstance(job, str) for job in doc["expected_jobs"]):
        raise Unreadable(f"{path}: key 'expected_jobs': expected job ids (name@host)")
    return doc


def load_job(path: Path) -> dict[str, Any]:
    """A job's evidence file, its shape checked (run_id, job, scenarios, measured)."""
    doc = _json_object(path)
    for key, kind in (("run_id", str), ("job", str), ("scenarios", list)):
        if not isinstance(doc.get(key), kind):
            raise Unreadable(f"{path}: key {key!r}: expected a {kind.__name__}, got {doc.get(key)!r:.80}")
    for key in ("measured",):
        if not isinstance(doc.get(key, {}), dict):
            raise Unreadable(f"{path}: key {key!r}: expected an object")
    for entry in [*doc["scenarios"], *doc.get("not_run", [])]:
        if not (isinstance(entry, dict) and isinstance(entry.get("scenario"), str)):
            raise Unreadable(f"{path}: expected each scenario as an object with 'scenario', "
                             f"got {entry!r:.80}")
    version = doc.get("schema_version", READ_VERSIONS[0])
    if version not in READ_VERSIONS:
        raise Unreadable(f"{path}: key 'schema_version': expected one of "
                         f"{', '.join(map(str, READ_VERSIONS))} (the versions this suite reads), "
                         f"got {version!r:.20}")
    return doc


@dataclass
class Problems:
    """What verification found: failures (exit 1) and unreadable input (exit 4)."""

    failures: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    jobs: int = 0

    @property
    def exit_code(self) -> int:
        return EXIT_UNREADABLE if self.unreadable else EXIT_FAILED if self.failures else 0

    def all(self) -> list[str]:
        return [*self.unreadable, *self.failures]

    def __iadd__(self, other: Problems) -> Problems:
        self.failures += other.failures
        self.unreadable += other.unreadable
        self.jobs += other.jobs
        return self


def _inside(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts and "\\" not in name


def verify_run(folder: Path, public_key: Path | None = None, allowed_signers: Path | None = None,
               identity: str | None = None) -> Problems:
    """Every problem of one run folder (see the module's docstring). SigningError when the key
    cannot be read."""
    found = Problems()
    manifest = folder / MANIFEST
    if not manifest.is_file():
        found.failures.append(f"{folder}: no {MANIFEST}: not a signed drill run (an empty folder, "
                              "or its manifest was removed)")
        return found
    kwargs = {"identity": identity} if identity else {}
    problem = check_signature(manifest, public_key, allowed_signers, **kwargs)
    if problem is not None:
        found.failures.append(problem)
    try:
        doc = load(manifest)
    except Unreadable as exc:
        found.unreadable.append(str(exc))
        return found
    run_id, expected = doc["run_id"], set(doc["expected_jobs"])
    listed: dict[str, str] = {}
    for entry in doc["files"]:
        name = entry["path"]
        if not _inside(name):
            found.failures.append(f"{manifest}: lists {name!r}, a path outside the run folder")
            continue
        listed[name] = entry["sha256"]
        path = folder / name
        if not path.is_file():
            found.failures.append(f"{path}: listed in the manifest, missing from the folder")
        elif sha256(path) != entry["sha256"]:
            found.failures.append(f"{path}: sha256 differs from the manifest's: changed after the run")
    for job in sorted(expected):
        if not JOB_ID.fullmatch(job):
            found.failures.append(f"{manifest}: expected job {job!r} is not a job id (name@host)")
        elif f"{job}.json" not in listed:
            found.failures.append(f"{folder / (job + '.json')}: expected job {job} has no evidence "
                                  "file in the manifest")
        elif not (folder / f"{job}.json").is_file():
            found.failures.append(f"{folder / (job + '.json')}: expected job {job}: its evidence "
                                  "file is missing")
    for name in sorted(n for n in {*listed, *folder_files(folder)} if is_job_file(n)):
        path = folder / name
        if not path.is_file():
            continue
        intact = name in listed and sha256(path) == listed[name]
        try:
            job_doc = load_job(path)
        except Unreadable as exc:
            if intact:  # signed as it is, yet not evidence: bad input, not a tamper
                found.unreadable.append(str(exc))
            continue
        stem = name[:-5]
        if job_doc["run_id"] != run_id:
            found.failures.append(f"{path}: run_id {job_doc['run_id']!r}, expected {run_id!r}: "
                                  "a file from another run")
        if job_doc["job"] != stem:
            found.failures.append(f"{path}: job {job_doc['job']!r} in a file named {name}: renamed")
        if stem not in expected:
            found.failures.append(f"{path}: job {stem} is not among the run's expected jobs")
        if not job_doc["scenarios"]:
            found.failures.append(f"{path}: job {stem} has no scenarios: nothing was drilled, "
                                  "nothing is verified")
        if intact:
            found.jobs += 1
    if not expected or not any(is_job_file(name) for name in listed):
        found.failures.append(f"{manifest}: no job: a run must drill at least one job")
    unlisted = [name for name in folder_files(folder) if name not in listed]
    found.failures += [f"{folder / name}: not listed in the manifest: added after the run"
                       for name in unlisted]
    return found


def runs_below(path: Path) -> list[Path]:
    """The run folders to verify: ``path`` itself when it holds a manifest or files, else each
    folder in it (an evidence directory of several runs)."""
    if (path / MANIFEST).exists() or any(p.is_file() for p in path.iterdir()):
        return [path]
    runs = sorted(p for p in path.iterdir() if p.is_dir())
    return runs or [path]


def verify_path(path: Path, public_key: Path | None = None, allowed_signers: Path | None = None,
                identity: str | None = None) -> Problems:
    """Every run below ``path`` verified (see ``runs_below``); SigningError for an unusable key."""
    if not path.is_dir():
        raise SigningError(f"{path}: no such directory (expected a run's evidence folder)")
    found = Problems()
    for run in runs_below(path):
        found += verify_run(run, public_key, allowed_signers, identity)
    return found
