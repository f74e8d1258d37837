"""The rclone adapter and the mirror drill against local directories (rclone's local backend)."""

import os
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from backup_drills.adapters.rclone import Rclone
from backup_drills.core.transport import DrillCouldNotRun, Remote
from backup_drills.inventory.schema import Host, Job
from backup_drills.restores.trees import RestoreDrill
from backup_drills.verdicts.restore import mirror_in_sync, restore_identical


@pytest.fixture
def mirrored(tmp_path):
    source, mirror = tmp_path / "space", tmp_path / "mirror"
    (source / "mike" / "photos").mkdir(parents=True)
    (source / "_ops" / "markers").mkdir(parents=True)
    for index in range(20):
        (source / "mike" / "photos" / f"p{index}.jpg").write_bytes(os.urandom(500))
    (source / "mike" / "report (final).txt").write_text("numbers\n")
    (source / "_ops" / "markers" / "m.json").write_text("{}")
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    subprocess.run(
        ["rclone", "sync", str(source), str(mirror), "--exclude", "_ops/**"],
        check=True,
        env=env,
        capture_output=True,
    )
    job = Job.model_validate(
        {
            "name": "space-mirror",
            "host": "runner",
            "kind": "rclone-mirror",
            "source": str(source),
            "destination": str(mirror),
            "rpo": "26h",
            "excludes": ["_ops/**"],
        }
    )
    remote = Remote(Host(name="runner", transport="local://", scratch=str(tmp_path / "scratch")))
    return remote, job, source, mirror


def test_an_in_sync_mirror_has_no_differences(mirrored):
    remote, job, _, _ = mirrored
    assert mirror_in_sync(Rclone(remote, job).check_one_way(), remote, job).ok


def test_a_file_missing_from_the_mirror_is_named(mirrored):
    remote, job, source, mirror = mirrored
    (mirror / "mike" / "photos" / "p3.jpg").unlink()
    verdict = mirror_in_sync(Rclone(remote, job).check_one_way(), remote, job)
    assert not verdict.ok
    assert f"missing from the mirror: {source}/mike/photos/p3.jpg" in verdict.message


def test_samples_restore_from_the_mirror_and_an_altered_one_is_named(mirrored):
    remote, job, source, mirror = mirrored
    since = datetime.now(UTC) + timedelta(seconds=5)
    drill = RestoreDrill(remote, job)
    assert restore_identical(drill.mirror_sample("mike/photos", False, since)).ok
    assert restore_identical(drill.mirror_sample("mike/report (final).txt", True, since)).ok
    (mirror / "mike" / "report (final).txt").write_text("tampered\n")
    verdict = restore_identical(drill.mirror_sample("mike/report (final).txt", True, since))
    assert not verdict.ok
    assert f"{source}/mike/report (final).txt" in verdict.message


def test_a_sample_folder_of_subfolders_restores_whole_and_one_without_files_could_not_run(mirrored):
    """rclone copy of a folder is recursive: a sample folder holding only subfolders comes back
    whole. A folder holding no file is in no mirror (rclone keeps no empty folders; copy exits
    3, 'directory not found'): COULD NOT RUN, nothing to compare, never NOT COMPLIANT."""
    remote, job, source, _ = mirrored
    since = datetime.now(UTC) + timedelta(seconds=5)
    drill = RestoreDrill(remote, job)
    outcome = drill.mirror_sample("mike", False, since)
    assert restore_identical(outcome).ok
    assert outcome.comparison.compared == 21  # photos/'s 20 and the report, at any depth
    (source / "mike" / "empty" / "nothing").mkdir(parents=True)
    with pytest.raises(DrillCouldNotRun, match=f"sample directory {source}/mike/empty holds no "
                                               "file the mirror keeps"):
        drill.mirror_sample("mike/empty", False, since)


def test_the_whole_mirror_restores_to_an_alternate_root_and_a_lost_file_is_named(mirrored):
    remote, job, source, mirror = mirrored
    since = datetime.now(UTC) + timedelta(seconds=5)
    outcome = RestoreDrill(remote, job).mirror_full(since)
    assert restore_identical(outcome).ok
    assert outcome.comparison.compared == 21  # every file; the excluded markers are not asked for
    (mirror / "mike" / "photos" / "p7.jpg").unlink()
    verdict = restore_identical(RestoreDrill(remote, job).mirror_full(since))
    assert not verdict.ok
    assert "1 missing from the restore" in verdict.message
    assert f"{source}/mike/photos/p7.jpg" in verdict.message


def test_a_file_written_after_the_mirror_started_is_not_asked_of_it(mirrored):
    remote, job, source, mirror = mirrored
    started = datetime.now(UTC) - timedelta(minutes=5)
    stamp = (started - timedelta(minutes=5)).timestamp()
    for path in (*source.rglob("*"), *mirror.rglob("*")):
        os.utime(path, (stamp, stamp))  # everything the mirror holds predates its last run
    (source / "mike" / "new since the mirror.txt").write_text("later\n")
    assert mirror_in_sync(Rclone(remote, job).check_one_way(started), remote, job).ok
    verdict = mirror_in_sync(Rclone(remote, job).check_one_way(), remote, job)
    assert "missing from the mirror" in verdict.message
    assert not verdict.ok


def test_the_mirror_and_one_path_of_it_are_sized_before_a_restore(mirrored):
    remote, job, source, _ = mirrored
    mirror = Rclone(remote, job)
    assert mirror.size("mike/report (final).txt") == len("numbers\n")
    assert mirror.size() == sum(p.stat().st_size for p in (source / "mike").rglob("*") if p.is_file())


def test_what_the_mirror_should_hold_follows_rclones_own_filter_rules(local, tmp_path):
    """rclone, not the suite, says which source files its filters transfer: `docs/*.md` keeps
    docs/sub/keep.md (rclone's `*` does not cross `/`; fnmatch's did), `*.tmp` matches files,
    not a directory's contents, `cache/**` a directory at any depth."""
    source = tmp_path / "space"
    for rel in ("docs/a.md", "docs/sub/keep.md", "render.tmp/frame-0001.bin", "x.tmp",
                "deep/cache/blob.bin", "cache.txt"):
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        (source / rel).write_text(rel)
    job = Job.model_validate({"name": "m", "host": "runner", "kind": "rclone-mirror",
                              "source": str(source), "destination": str(tmp_path / "mirror"),
                              "rpo": "26h", "excludes": ["docs/*.md", "*.tmp", "cache/**"]})
    assert Rclone(local, job).kept() == {"docs/sub/keep.md", "render.tmp/frame-0001.bin",
                                         "cache.txt"}
