"""The restore rotation (drills/core/restore_rotation.py, drills/restores/rotation.py): the hash
partition, the slice due, the budget, the history's judgement from an evidence folder in its own
format, the inventory's refusals, and restic's and borg's own restores of exactly the chosen
files, hostile names among them (the real tools, a repository in a temporary folder, ``local://``)."""

from __future__ import annotations

import getpass
import io
import json
import os
import subprocess
import tarfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from backup_drills.adapters.borg import Borg
from backup_drills.adapters.restic import Restic, literal_pattern
from backup_drills.core.coverage import slice_for
from backup_drills.core.restore_rotation import (
    EVIDENCE_KEY,
    OverBudget,
    RestoreProof,
    digest,
    due_slice,
    history,
    partition,
    plan,
    slice_of,
    unproven,
)
from backup_drills.core.tool_errors import RepositoryDamaged
from backup_drills.core.transport import Remote
from backup_drills.inventory.schema import Host, Job
from backup_drills.restores import rotation
from backup_drills.restores.scratch import scratch_dir
from backup_drills.verdicts.restore import every_file_restored

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)
names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), min_size=1)


def job(**fields: object) -> Job:
    return Job.model_validate({"name": "flux", "host": "h", "kind": "restic", "rpo": "26h",
                               "rto": "1h", "source": "/flux", "repository": "/r",
                               "restore_coverage": "*/4", "restore_budget": {"bytes": "1 MiB"},
                               **fields})


# --- the partition ------------------------------------------------------------------------


@given(st.lists(names, unique=True, max_size=60), st.integers(1, 12))
def test_every_file_is_in_exactly_one_slice_and_t_slices_cover_the_tree(files, slices):
    parts = partition(files, slices)
    assert sorted(parts) == list(range(1, slices + 1))
    covered = [path for part in parts.values() for path in part]
    assert sorted(covered) == sorted(files)  # each file once, none left out
    assert all(slice_of(path, slices) == n for n, part in parts.items() for path in part)


def test_the_partition_is_stable_and_spreads_the_files():
    files = [f"d{i % 7}/file-{i:05d}.dat" for i in range(4000)]
    sizes = [len(part) for part in partition(files, 8).values()]
    assert min(sizes) > 400, sizes  # about 500 each
    assert max(sizes) < 600, sizes
    assert slice_of("active/a b.txt", 8) == slice_of("active/a b.txt", 8)
    assert slice_of("caf\udce9", 8) in range(1, 9)  # a name that is not UTF-8


def test_t_drills_restore_every_file_of_the_tree():
    """Each drill proves the slice due; after t drills, every file was in one of them."""
    files = {f"f{i}": 1 for i in range(500)}
    proofs: list[RestoreProof] = []
    restored: set[str] = set()
    for week in range(4):
        at = NOW + timedelta(weeks=week)
        due = due_slice(proofs, 4, at.date())
        restored |= set(plan(files, 4, due, 10**6, None, 0).files)
        proofs.append(RestoreProof(due, at, True))
    assert restored == set(files)
    assert unproven(proofs, 4, NOW + timedelta(weeks=3, days=1)) == []


# --- the slice due --------------------------------------------------------------------------


def test_with_no_history_the_slice_is_the_iso_weeks():
    for day in (date(2026, 11, 30), date(2026, 12, 7), date(2026, 12, 14)):
        assert due_slice([], 8, day) == slice_for(day, 8)


def test_the_oldest_unproven_slice_goes_first_and_a_failed_restore_proves_nothing():
    week = slice_for(NOW.date(), 4)
    others = [n for n in range(1, 5) if n != week]
    proofs = [RestoreProof(n, NOW - timedelta(days=3 + n), True) for n in range(1, 5)]
    oldest = max(range(1, 5), key=lambda n: n)  # proven longest ago
    assert due_slice(proofs, 4, NOW.date()) == oldest
    proofs.append(RestoreProof(others[0], NOW - timedelta(days=1), False))  # failed: not proven
    never = [p for p in proofs if p.slice != others[0] or not p.passed]
    assert due_slice(never, 4, NOW.date()) == others[0]  # its only proof failed: never proven
    assert due_slice([RestoreProof(7, NOW, True)], 4, NOW.date()) == week  # another rotation's


# --- the budget ----------------------------------------------------------------------------


def test_a_slice_over_the_budget_is_refused_before_restoring_naming_slice_and_bytes():
    files = {f"f{i}": 1000 for i in range(100)}
    due = slice_of("f0", 4)
    size = 1000 * len(partition(files, 4)[due])
    with pytest.raises(OverBudget, match=rf"slice {due}/4 lists \d+ file\(s\), {size} bytes: over "
                                         r"the budget of 999 bytes; nothing was restored"):
        plan(files, 4, due, 999, None, 8)
    with pytest.raises(OverBudget, match="and 2 files"):
        plan(files, 4, due, 10**9, 2, 8)


def test_the_sample_is_drawn_outside_the_slice_within_what_the_budget_leaves():
    files = {f"f{i}": 10 for i in range(400)} | {"huge": 10**6}
    due = 1
    chosen = plan(files, 4, due, 10**5, None, 16)
    assert len(chosen.sample) == 16
    assert not set(chosen.sample) & set(chosen.files)
    assert "huge" not in chosen.sample  # would not fit
    assert chosen.bytes + chosen.sample_bytes <= 10**5
    draws = {tuple(sorted(plan(files, 4, due, 10**5, None, 16).sample)) for _ in range(5)}
    assert len(draws) > 1  # fresh each drill, from the system's randomness
    tight = plan(files, 4, due, chosen.bytes + 25, None, 16)
    assert len(tight.sample) == 2  # 25 bytes left: two files of 10


def test_the_digest_names_the_set_not_the_order():
    assert digest(["b", "a\nc"]) == digest(["a\nc", "b"]) != digest(["a", "b"])


# --- the history's judgement ---------------------------------------------------------------


def _evidence(folder: Path, run: str, entry: dict[str, object]) -> None:
    (folder / run).mkdir(parents=True)
    (folder / run / "flux@h.json").write_text(json.dumps({"measured": {EVIDENCE_KEY: entry}}))


def test_a_history_with_one_slice_unrestored_for_t_plus_one_weeks_names_that_slice(tmp_path):
    """The evidence folder, as drills write it, crafted: slice 2 of 4 last came back identical
    five weeks ago, a later restore of it failed, the others within the window."""
    proven = {1: NOW - timedelta(weeks=3), 2: NOW - timedelta(weeks=5), 3: NOW - timedelta(weeks=2),
              4: NOW - timedelta(weeks=1)}
    for n, at in proven.items():
        _evidence(tmp_path, f"run{n}", {"slice": f"{n}/4", "proven_at": at.isoformat(),
                                        "passed": True, "files": 10, "bytes": 100})
    _evidence(tmp_path, "run5", {"slice": "2/4", "proven_at": (NOW - timedelta(days=4)).isoformat(),
                                 "passed": False})
    _evidence(tmp_path, "run6", {"slice": "2/8", "proven_at": NOW.isoformat(), "passed": True})
    earlier = history(tmp_path, "flux@h", 4)
    assert len(earlier) == 5  # another rotation's entry is not this one's
    verdict = every_file_restored(job(), "h", earlier, None, NOW)
    assert not verdict.ok
    assert "host h, job flux: every file of /flux restored within the last 29d: slice(s) 2/4 of " \
           "the rotation not restored since 2026-11-04T12:00:00+00:00" in verdict.message
    assert f"slice 2/4: last restored identical {proven[2].isoformat()}" in verdict.message
    assert verdict.evidence == {"restore_coverage_gaps": [2],
                                "restore_coverage_window": {"files": 30, "bytes": 300}}
    assert due_slice(earlier, 4, NOW.date()) == 2  # and the next drill restores it first
    healed = {"slice": "2/4", "proven_at": NOW.isoformat(), "passed": True, "files": 10,
              "bytes": 100, "tree": {"files": 40, "bytes": 400}}
    again = every_file_restored(job(), "h", earlier, healed, NOW)
    assert again.ok, again.message
    assert "within the window 40 files and 400 bytes proven, 100.00% and 100.00%" in again.message
    assert again.evidence["restore_coverage_window"] == {"files": 40, "bytes": 400,
                                                         "files_fraction": 1.0, "bytes_fraction": 1.0}


def test_a_rotation_younger_than_its_window_is_not_yet_overdue():
    first = [RestoreProof(3, NOW - timedelta(weeks=1), True)]
    verdict = every_file_restored(job(), "h", first, None, NOW)
    assert verdict.ok
    assert "yes so far: the rotation began" in verdict.message
    assert "slice(s) 1/4, 2/4, 4/4 due by" in verdict.message
    assert unproven([RestoreProof(3, NOW - timedelta(weeks=5), False)], 4, NOW) == [1, 2, 3, 4]


# --- the inventory -------------------------------------------------------------------------


def test_the_inventory_refuses_a_bad_rotation_or_budget_saying_what_is_expected():
    assert job().restore_rotation == 4
    assert job(restore_budget={"bytes": "2 GiB", "files": 10}).restore_budget.bytes == 2 * 2**30
    refusals = {"*/0": "expected a rotation '\\*/t'", "8": "such as '\\*/8', got '8'",
                "1/8": "got '1/8'"}
    for value, expected in refusals.items():
        with pytest.raises(ValidationError, match=expected) as raised:
            job(restore_coverage=value)
        assert "restore_coverage" in str(raised.value)
    for bad in ("lots", "-1 GiB", 0, "2 GB/s"):
        with pytest.raises(ValidationError, match=r"restore_budget.bytes\n.*expected a size in bytes"):
            job(restore_budget={"bytes": bad})
    with pytest.raises(ValidationError, match="restore_coverage and restore_budget go together"):
        job(restore_budget=None)


# --- restic restores exactly the chosen files ----------------------------------------------

HOSTILE = ["a b  c.txt", "x\npwned\n", "--x=$(pwned)", "*", "a*", "[ab]", "a", "b", "q?",
           "back\\slash", "**", "it's'; pwned; '", "a - b", "trail  ", "-"]


def test_restic_restores_exactly_the_chosen_files_hostile_names_taken_literally(tmp_path):
    source, repository = tmp_path / "src", tmp_path / "repo"
    (source / "d").mkdir(parents=True)
    for i, hostile in enumerate(HOSTILE):
        (source / "d" / hostile).write_text(f"content {i}")
    env = tmp_path / "host.env"
    env.write_text("RESTIC_PASSWORD=pw\n")
    env.chmod(0o600)
    run_env = {**os.environ, "RESTIC_PASSWORD": "pw", "RESTIC_CACHE_DIR": str(tmp_path / "cache")}
    subprocess.run(["restic", "-r", str(repository), "init"], check=True, capture_output=True, env=run_env)
    subprocess.run(["restic", "-r", str(repository), "backup", str(source)], check=True,
                   capture_output=True, env=run_env)
    remote = Remote(Host(name="runner", transport="local://", credentials_env=str(env),
                         credentials_owner=getpass.getuser(), scratch=str(tmp_path / "scratch")),
                    timeout=120)
    restic = Restic(remote, job(source=str(source), repository=str(repository)))
    snapshot = restic.snapshots()[-1]
    listed = restic.files(snapshot)
    assert sorted(listed) == sorted(f"d/{h}" for h in HOSTILE)
    chosen = ["d/*", "d/[ab]", "d/x\npwned\n", "d/--x=$(pwned)", "d/back\\slash", "d/**", "d/a - b",
              "d/trail  ", "d/-"]  # the last three: a space before a dash or the end goes as ?
    run = tmp_path / "scratch" / "drill-r-1-2-ab"  # a run folder, as scratch-root.sh makes it
    run.mkdir(parents=True, mode=0o700)
    restored = restic.restore_files(snapshot, str(run), chosen, 60)
    target = run / snapshot.id  # restic-into.sh: the run folder takes this one snapshot's restores
    assert restored.target == str(target)
    back = {str(p.relative_to(target / str(source).lstrip("/"))) for p in target.rglob("*") if p.is_file()}
    assert back == set(chosen)  # not a, b, a*, ... that the same words as patterns would match
    assert (target / str(source).lstrip("/") / "d" / "*").read_text() == f"content {HOSTILE.index('*')}"
    assert literal_pattern("/s/\ufffd") == "/s/?"  # one byte restic printed as U+FFFD


def borg_repository(tmp_path: Path, repository: Path) -> tuple[dict[str, str], Remote]:
    """A new borg repository (repokey, passphrase pw) and the runner as its host, whose env
    file holds the passphrase: the environment to run borg by hand, and the host to drill."""
    env = tmp_path / "host.env"
    env.write_text(f"BORG_PASSPHRASE=pw\nBORG_BASE_DIR={tmp_path / 'base'}\n")
    env.chmod(0o600)
    run_env = {**os.environ, "BORG_PASSPHRASE": "pw", "BORG_BASE_DIR": str(tmp_path / "base")}
    subprocess.run(["borg", "init", "-e", "repokey", str(repository)], check=True, capture_output=True,
                   env=run_env)
    remote = Remote(Host(name="runner", transport="local://", credentials_env=str(env),
                         credentials_owner=getpass.getuser(), scratch=str(tmp_path / "scratch")),
                    timeout=120)
    return run_env, remote


def test_borg_extracts_exactly_the_chosen_files_hostile_names_taken_literally(tmp_path):
    source, repository = tmp_path / "src", tmp_path / "repo"
    (source / "d").mkdir(parents=True)
    for i, hostile in enumerate([*HOSTILE, "ab"]):
        (source / "d" / hostile).write_text(f"content {i}")
    run_env, remote = borg_repository(tmp_path, repository)
    subprocess.run(["borg", "create", f"{repository}::one", str(source)], check=True,
                   capture_output=True, env=run_env)
    borg = Borg(remote, job(kind="borg", source=str(source), repository=str(repository)))
    archive = borg.snapshots()[-1]
    assert sorted(borg.files(archive)) == sorted(f"d/{h}" for h in [*HOSTILE, "ab"])
    chosen = ["d/*", "d/a", "d/x\npwned\n", "d/--x=$(pwned)", "d/back\\slash", "d/[ab]", "d/a - b",
              "d/trail  ", "d/-"]  # the last three: sh: patterns, a loose space as ?
    with scratch_dir(remote, borg.job) as into:  # borg extracts into a run folder of scratch
        borg.restore_files(archive, into, chosen, 60)
        target = Path(into)
        back = {str(p.relative_to(target / str(source).lstrip("/"))) for p in target.rglob("*")
                if p.is_file()}
    assert back == set(chosen)  # pp:d/a is not d/ab, d/* is not every file


def test_borg_never_writes_through_a_link_the_same_archive_made(tmp_path):
    """An archive holding ``x -> OUTSIDE`` and then ``x/zz`` (imported from a tar: CVE-2026-62268,
    borg extract before 1.4.5 writes zz into OUTSIDE, as root anywhere): the drill's extract goes
    through export-tar and GNU tar, which makes that link only after every member, so zz fails
    below a placeholder, the restore is NOT COMPLIANT, and OUTSIDE stays empty."""
    outside, repository = tmp_path / "outside", tmp_path / "repo"
    outside.mkdir()
    run_env, remote = borg_repository(tmp_path, repository)
    hostile = tmp_path / "hostile.tar"
    with tarfile.open(hostile, "w") as tar:
        for name, kind, link in (("src", tarfile.DIRTYPE, ""), ("src/x", tarfile.SYMTYPE, str(outside)),
                                 ("src/x/zz", tarfile.REGTYPE, "")):
            member = tarfile.TarInfo(name)
            member.type, member.linkname, member.mode = kind, link, 0o755
            data = b"written through the link\n" if kind == tarfile.REGTYPE else b""
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data) if data else None)
    subprocess.run(["borg", "import-tar", f"{repository}::hostile", str(hostile)], check=True,
                   capture_output=True, env=run_env)
    borg = Borg(remote, job(kind="borg", source="/src", repository=str(repository)))
    archive = borg.snapshots()[-1]
    with scratch_dir(remote, borg.job) as into, pytest.raises(RepositoryDamaged) as refused:
        borg.restore(archive, into)
    assert "src/x/zz: Cannot open: Not a directory" in str(refused.value)
    assert list(outside.iterdir()) == []


def test_many_files_are_hashed_in_several_runs_each_named_once(tmp_path, monkeypatch):
    """The comparison hashes the chosen files in runs of at most HASHED_PER_RUN characters of
    paths (a slice of many files would pass the command line's limit); an absent file is left
    out, as the comparison then names it missing."""
    for hostile in HOSTILE:
        (tmp_path / hostile).write_text(hostile)
    monkeypatch.setattr(rotation, "HASHED_PER_RUN", 8)
    remote = Remote(Host(name="runner", transport="local://", scratch=str(tmp_path / "s")), timeout=60)
    found = rotation._hashed(remote, str(tmp_path), [*HOSTILE, "absent"])
    assert sorted(found.entries) == sorted(HOSTILE)
    assert found.entries["x\npwned\n"].size == len("x\npwned\n")
