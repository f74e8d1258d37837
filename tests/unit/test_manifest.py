import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drills.core.patterns import restic_excluded
from drills.core.transport import DrillCouldNotRun
from drills.restores.manifest import compare, hash_tree

ODD = [
    "plain.txt",
    "two  spaces.txt",
    "naïve café.txt",
    "日本語.txt",
    "-dash.txt",
    "semi;colon&.txt",
    "tab\tname.txt",
    "nested/deeper/file.bin",
    "empty.dat",
]


def make_tree(root: Path, count: int = 0) -> None:
    for index, name in enumerate(ODD):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"" if name == "empty.dat" else f"content {index}\n".encode())
    for index in range(count):
        (root / "many").mkdir(exist_ok=True)
        (root / "many" / f"f{index:05d}").write_bytes(os.urandom(index % 300))
    os.symlink("plain.txt", root / "link")
    (root / "empty-dir").mkdir()


def test_manifest_hashes_every_file_like_hashlib(local, tmp_path):
    make_tree(tmp_path, count=1500)  # many sha256sum batches in parallel
    manifest = hash_tree(local, str(tmp_path))
    files = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink()]
    assert manifest.files == len(files)
    for path in files:
        entry = manifest.entries[str(path.relative_to(tmp_path))]
        assert entry.sha256 == hashlib.sha256(path.read_bytes()).hexdigest(), path
    assert manifest.entries["link"].kind == "l"
    assert manifest.entries["link"].link == "plain.txt"
    assert manifest.entries["empty-dir"].kind == "d"


def test_identical_trees_compare_identical(local, tmp_path):
    make_tree(tmp_path / "a")
    make_tree(tmp_path / "b")
    source, restored = hash_tree(local, str(tmp_path / "a")), hash_tree(local, str(tmp_path / "b"))
    comparison = compare(source, restored, datetime.now(UTC), "job")
    assert comparison.identical
    assert comparison.compared == len(source.entries)


def test_a_file_changed_before_the_snapshot_differs_and_is_named(local, tmp_path):
    make_tree(tmp_path / "a")
    make_tree(tmp_path / "b")
    (tmp_path / "b" / "naïve café.txt").write_text("rotted")
    snapshot_time = datetime.now(UTC) + timedelta(seconds=5)
    comparison = compare(
        hash_tree(local, str(tmp_path / "a")), hash_tree(local, str(tmp_path / "b")), snapshot_time, "flux"
    )
    assert not comparison.identical
    assert comparison.differing == ["naïve café.txt"]
    assert f"{tmp_path / 'a'}/naïve café.txt" in comparison.describe()


def test_a_file_changed_after_the_snapshot_is_reported_not_failed(local, tmp_path):
    make_tree(tmp_path / "a")
    make_tree(tmp_path / "b")
    snapshot_time = datetime.now(UTC) - timedelta(minutes=5)
    (tmp_path / "a" / "plain.txt").write_text("edited after the backup")
    os.utime(tmp_path / "a" / "two  spaces.txt")
    (tmp_path / "a" / "new.txt").write_text("created after the backup")
    for name in ODD:
        stamp = (snapshot_time - timedelta(hours=1)).timestamp()
        if name not in ("plain.txt", "two  spaces.txt"):
            os.utime(tmp_path / "a" / name, (stamp, stamp))
    comparison = compare(
        hash_tree(local, str(tmp_path / "a")), hash_tree(local, str(tmp_path / "b")), snapshot_time, "flux"
    )
    assert comparison.identical
    assert set(comparison.changed_after) >= {"plain.txt", "new.txt"}


def test_missing_and_excluded_entries(local, tmp_path):
    make_tree(tmp_path / "a")
    make_tree(tmp_path / "b")
    (tmp_path / "b" / "nested" / "deeper" / "file.bin").unlink()
    (tmp_path / "b" / "empty.dat").unlink()
    snapshot_time = datetime.now(UTC) + timedelta(seconds=5)
    source, restored = hash_tree(local, str(tmp_path / "a")), hash_tree(local, str(tmp_path / "b"))
    assert compare(source, restored, snapshot_time, "j").missing == ["nested/deeper/file.bin", "empty.dat"]
    left_out = lambda rel: restic_excluded(f"/src/{rel}", ["nested/**", "*.dat"])  # noqa: E731
    assert compare(source, restored, snapshot_time, "j", left_out).identical


def test_a_missing_root_is_empty_only_when_allowed(local, tmp_path):
    assert hash_tree(local, str(tmp_path / "absent"), missing_ok=True).entries == {}
    with pytest.raises(DrillCouldNotRun, match=r"cannot hash .*absent: no such directory"):
        hash_tree(local, str(tmp_path / "absent"))
    make_tree(tmp_path)
    assert hash_tree(local, str(tmp_path), ["nope"], missing_ok=True).entries == {}
    with pytest.raises(DrillCouldNotRun, match="cannot hash"):
        hash_tree(local, str(tmp_path), ["nope"])
