"""The restic-into helper, run here by the real restic on a real repository: a run folder takes
one snapshot's restores only. With two snapshots of one name, a link to a file outside in the
first and a file in the second, restic 0.14 (Debian 12) wrote the second restore through the
first's link: a drilling user allowed to restore into scratch as root wrote /etc/sudoers.d."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from backup_drills.core.transport import SCRIPTS

INTO = SCRIPTS / "restic-into.sh"
ENV = {**os.environ, "RESTIC_PASSWORD": "unit-test-password"}


def restic(repo: Path, *words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["restic", "-r", str(repo), *words], env=ENV, capture_output=True,
                          text=True, timeout=120, check=True)


def into(run: Path, repo: Path, snapshot: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(INTO), str(run), str(repo), snapshot, *options], env=ENV,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def two_snapshots(tmp_path):
    """A repository whose first snapshot holds ``data/x`` as a link to a file outside, and whose
    second holds ``data/x`` as a file; the run folder, as scratch-root.sh makes it."""
    outside = tmp_path / "etc-like" / "victim"
    outside.parent.mkdir()
    outside.write_text("untouched\n")
    repo, data = tmp_path / "repo", tmp_path / "data"
    data.mkdir()
    restic(repo, "init")
    (data / "x").symlink_to(outside)
    restic(repo, "backup", str(data), "--host", "h")
    (data / "x").unlink()
    (data / "x").write_text("written as root through the link\n")
    restic(repo, "backup", str(data), "--host", "h")
    first, second = (s["id"] for s in json.loads(restic(repo, "snapshots", "--json").stdout))
    run = tmp_path / "scratch" / "drill-t-1-2-abcdef"
    run.mkdir(parents=True, mode=0o700)
    return repo, data, run, first, second, outside


def test_a_run_folder_takes_one_snapshot_and_nothing_is_written_through_a_restored_link(two_snapshots):
    repo, data, run, first, second, outside = two_snapshots
    done = into(run, repo, first)
    assert done.returncode == 0, done.stderr
    assert (run / first / str(data).lstrip("/") / "x").is_symlink()
    # the same snapshot again (the rotation's batches) is restic's to judge, not refused (its
    # link exists: restic 0.14 says so, and writes nothing through it)
    again = into(run, repo, first)
    assert not again.stderr.startswith("restic-into: "), again.stderr
    refused = into(run, repo, second)
    assert refused.returncode == 3
    assert refused.stderr.startswith(f"restic-into: {run} holds {first}: a run folder receives one")
    assert outside.read_text() == "untouched\n"


@pytest.mark.parametrize("planted", ["file", "link", "folder", "dot"])
def test_a_run_folder_holding_anything_else_or_not_a_run_folder_is_refused(two_snapshots, planted):
    repo, _, run, first, _, outside = two_snapshots
    name = {"file": "f", "link": first, "folder": "d", "dot": ".hidden"}[planted]
    if planted == "link":
        (run / name).symlink_to(outside.parent)
    elif planted == "folder":
        (run / name).mkdir()
    else:
        (run / name).write_text("x")
    refused = into(run, repo, first)
    assert refused.returncode == 3, refused.stderr
    assert refused.stderr.startswith("restic-into: ")
    assert outside.read_text() == "untouched\n"


def test_not_a_run_folder_is_refused_before_restic_runs(two_snapshots, tmp_path):
    repo, _, run, first, _, _ = two_snapshots
    link = run.parent / "drill-t-1-2-abcde0"
    link.symlink_to(run)
    open_folder = run.parent / "drill-t-1-2-abcde1"
    open_folder.mkdir(mode=0o777)
    open_folder.chmod(0o777)
    readable = run.parent / "drill-t-1-2-abcde2"  # as rclone copy makes a missing one: 0755
    readable.mkdir()
    readable.chmod(0o755)
    for target, snapshot in ((link, first), (open_folder, first), (readable, first),
                             (tmp_path / "elsewhere", first), (run, "--target"), (run, "")):
        refused = into(target, repo, snapshot)
        assert refused.returncode == 3, (target, snapshot, refused.stderr)
        assert refused.stderr.startswith("restic-into: "), refused.stderr
    assert list(run.iterdir()) == []
