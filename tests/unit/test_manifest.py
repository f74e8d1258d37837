import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup_drills.core.patterns import restic_excluded
from backup_drills.core.transport import DrillCouldNotRun
from backup_drills.outcomes import NotCompliant
from backup_drills.restores.manifest import compare, hash_tree

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


LARGE = ["big one.bin", "-big\nnewline.bin", "back\\slash.bin", "nested/big;$(x).bin"]


def _openssl_that(tmp_path: Path, behaviour: str) -> Path:
    """A folder to put first on PATH: every program of the system's PATH but openssl, and an
    openssl that ``fails`` (exit 1), prints ``garbage`` (exit 0), or is ``missing``."""
    tools = tmp_path / f"bin-{behaviour}"
    tools.mkdir()
    for folder in os.environ["PATH"].split(os.pathsep):
        for program in Path(folder).glob("*") if Path(folder).is_dir() else ():
            if program.name != "openssl" and not (tools / program.name).exists():
                (tools / program.name).symlink_to(program)
    if behaviour != "missing":
        fake = tools / "openssl"
        said = "exit 1" if behaviour == "fails" else "echo 'SHA2-256(stdin)= nope'"
        fake.write_text(f"#!/bin/sh\necho called >> '{tools}/called'\n{said}\n")
        fake.chmod(0o755)
    return tools


@pytest.mark.parametrize("openssl", ["real", "fails", "garbage", "missing"])
def test_files_over_a_mib_hash_like_hashlib_with_or_without_openssl(local, tmp_path, monkeypatch, openssl):
    """Files over 1 MiB go one by one through ``openssl dgst -sha256`` on stdin (their names,
    hostile ones too, never in its output), or through sha256sum where openssl fails, prints
    something else than a digest, or is not installed; the small ones stay with sha256sum."""
    root = tmp_path / "tree"
    make_tree(root, count=300)
    for index, name in enumerate(LARGE):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(os.urandom(1024 * 1024 + index) if index else os.urandom(3 << 20))
    exactly_a_mib = root / "exactly-a-mib.bin"
    exactly_a_mib.write_bytes(os.urandom(1024 * 1024))
    if openssl != "real":
        monkeypatch.setenv("PATH", str(_openssl_that(tmp_path, openssl)))
    manifest = hash_tree(local, str(root), parallel=3)
    files = [p for p in root.rglob("*") if p.is_file() and not p.is_symlink()]
    assert manifest.files == len(files) == len(ODD) + 300 + len(LARGE) + 1
    for path in files:
        entry = manifest.entries[str(path.relative_to(root))]
        assert entry.sha256 == hashlib.sha256(path.read_bytes()).hexdigest(), path
    if openssl in ("fails", "garbage"):  # the fake was asked, once for each large file
        assert (tmp_path / f"bin-{openssl}" / "called").read_text().count("called") == len(LARGE)


def test_a_restored_root_the_backup_recorded_as_a_symlink_is_not_compliant(local, tmp_path):
    """A snapshot may hold the tree's own folder as a symlink (to the live source, to /root):
    the restored side is then refused, naming it, not hashed where the link leads (a false
    green); the source side may be a link the operator made."""
    live = tmp_path / "live"
    live.mkdir()
    (live / "a.txt").write_text("live data, not in the backup\n")
    restored = tmp_path / "scratch" / "srv"
    restored.parent.mkdir()
    restored.symlink_to(live)
    with pytest.raises(NotCompliant, match=r"is a symlink the backup recorded.*leads elsewhere"):
        hash_tree(local, str(restored), missing_ok=True)
    below = tmp_path / "scratch" / "srv" / "."
    with pytest.raises(NotCompliant):
        hash_tree(local, str(below), missing_ok=True)
    assert any(name.endswith("a.txt") for name in hash_tree(local, str(restored)).entries)
    assert any(name.endswith("a.txt") for name in hash_tree(local, str(live), missing_ok=True).entries)
