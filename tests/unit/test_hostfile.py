"""drills/scripts/read-file.sh through the real local:// transport, on files a hostile local user
could plant: a symlink to a root-only file, a FIFO, a hard link, a file too large."""

import json
import os
import time

import pytest

from backup_drills.adapters.markers import read_marker, read_newest_result
from backup_drills.adapters.metrics import scrape
from backup_drills.core.hostfile import CAP, read_file, read_newest
from backup_drills.core.transport import DrillCouldNotRun
from backup_drills.inventory.schema import Job, Metrics
from backup_drills.verdicts.markers import marker_valid, restore_tests_passed

SECRET = "root:$y$j9T$not-a-real-hash-but-a-secret:20000:0:99999:7:::"
MARKER = {"job": "b2_mirror", "host": "akira", "status": "success",
          "completed_at": "2026-12-03T04:00:00+00:00"}


@pytest.fixture
def shadow(tmp_path):
    """A root-only file outside the marker's folder, standing in for /etc/shadow."""
    outside = tmp_path / "etc"
    outside.mkdir()
    secret = outside / "shadow"
    secret.write_text(SECRET + "\n")
    secret.chmod(0o600)
    return secret


@pytest.fixture
def folder(tmp_path):
    made = tmp_path / "markers"
    made.mkdir(mode=0o755)
    return made


def job(folder) -> Job:
    return Job.model_validate({"name": "space-mirror", "host": "runner", "kind": "rclone-mirror",
                               "source": "/space", "destination": "r:b", "rpo": "26h",
                               "marker": {"path": str(folder / "b2_mirror.json")},
                               "results": str(folder)})


def test_a_regular_marker_is_read_whole(local, folder):
    path = folder / "b2_mirror.json"
    path.write_text(json.dumps(MARKER))
    found = read_file(local, str(path))
    assert (found.exists, found.problem, found.warning) == (True, None, None)
    assert json.loads(found.data) == MARKER
    assert not read_file(local, str(folder / "gone.json")).exists


def test_a_symlink_to_a_root_only_file_is_refused_and_never_read(local, folder, shadow):
    path = folder / "b2_mirror.json"
    path.symlink_to(shadow)
    found = read_file(local, str(path))
    assert found.exists
    assert found.data == b""
    assert found.problem is not None
    assert found.problem.startswith("is a symlink: not read")
    verdict = marker_valid(read_marker(local, str(path)), job(folder))
    assert not verdict.ok
    assert verdict.message.startswith(f"host runner, job space-mirror: marker {path} is a symlink")
    assert "not-a-real-hash" not in verdict.message + json.dumps(verdict.evidence)
    dangling = folder / "last_failure.json"
    dangling.symlink_to(folder / "nothing-there")  # a link is refused even where it leads nowhere
    assert read_file(local, str(dangling)).problem.startswith("is a symlink")


def test_a_fifo_a_hard_link_and_a_large_file_are_refused_without_hanging(local, folder, shadow):
    fifo = folder / "fifo.json"
    os.mkfifo(fifo)
    started = time.monotonic()
    assert read_file(local, str(fifo)).problem.startswith("is not a regular file: not read")
    assert time.monotonic() - started < 20  # nothing ever writes into it: a cat would hang
    linked = folder / "linked.json"
    os.link(shadow, linked)  # where fs.protected_hardlinks is 0, a user may link a root-only file
    found = read_file(local, str(linked))
    assert found.problem is not None
    assert found.problem.startswith("has 2 hard links: not read")
    assert found.data == b""
    large = folder / "large.json"
    large.write_bytes(b"{" + b" " * (CAP + 10) + b"}")
    found = read_file(local, str(large))
    assert found.problem == "is larger than 64 KiB: not read"
    assert found.data == b""
    exact = folder / "exact.json"
    exact.write_bytes(b"x" * CAP)
    assert read_file(local, str(exact)).data == b"x" * CAP


def test_a_folder_anyone_may_write_is_warned_about_in_the_verdict(local, folder):
    path = folder / "b2_mirror.json"
    path.write_text(json.dumps(MARKER))
    folder.chmod(0o1777)
    found = read_file(local, str(path))
    assert found.warning == (f"the folder {folder} is writable by any local user (mode 1777): "
                             f"anyone there can replace {path}")
    verdict = marker_valid(read_marker(local, str(path)), job(folder))
    assert verdict.ok
    assert verdict.evidence == {"warning": found.warning}
    assert "writable by any local user" in verdict.message


def test_the_newest_result_is_chosen_by_its_own_time_and_a_newer_link_is_refused(local, folder, shadow):
    assert not read_newest(local, str(folder)).exists
    assert read_newest(local, str(folder)).path == f"{folder}/*.json"
    older, newer = folder / "2026-12-01.json", folder / "2026-12-02.json"
    for index, path in enumerate((older, newer)):
        path.write_text(json.dumps({**MARKER, "tests": {"b2_mirror": "PASS"}, "job": path.name}))
        os.utime(path, (1_700_000_000 + index, 1_700_000_000 + index))
    reading = read_newest_result(local, str(folder))
    assert reading.path == str(newer)
    assert reading.marker is not None
    assert reading.marker.job == newer.name
    link = folder / "2026-12-03.json"
    link.symlink_to(shadow)  # newer than both, by its own time (the target's time is older)
    os.utime(shadow, (1_600_000_000, 1_600_000_000))
    reading = read_newest_result(local, str(folder))
    assert reading.path == str(link)
    assert reading.error is not None
    assert reading.error.startswith("is a symlink: not read")
    verdict = restore_tests_passed(reading, job(folder))
    assert not verdict.ok
    assert f"host runner, job space-mirror: restore-test result {link}: is a symlink" in verdict.message
    assert "not-a-real-hash" not in verdict.message


def test_a_metrics_textfile_that_is_a_symlink_could_not_run_naming_host_job_and_path(local, folder, shadow):
    textfile = folder / "backup.prom"
    textfile.write_text('backup_success{job="c"} 1\n')
    metrics = Metrics.model_validate({"textfile": str(textfile), "labels": {"job": "c"}})
    assert scrape(local, metrics, "cartae-backup") == {"backup_success": 1.0}
    textfile.unlink()
    assert scrape(local, metrics, "cartae-backup") == {}  # gone: no metrics at all, as before
    textfile.symlink_to(shadow)
    with pytest.raises(DrillCouldNotRun) as refused:
        scrape(local, metrics, "cartae-backup")
    assert str(refused.value).startswith(f"host runner, job cartae-backup: metrics textfile {textfile} "
                                         "is a symlink: not read")
    assert "not-a-real-hash" not in str(refused.value)


def test_a_link_swapped_in_after_the_checks_is_not_followed_by_the_open(local, folder, shadow, tmp_path,
                                                                       monkeypatch):
    """The race: the file is regular when checked and a symlink when opened. A ``stat`` on PATH
    swaps it between the two; ``dd iflag=nofollow`` (O_NOFOLLOW) then refuses to open it."""
    shims = tmp_path / "bin"
    shims.mkdir()
    (shims / "stat").write_text('#!/bin/sh\nif [ "$2" = %h ]; then rm -f -- "$4"; ln -s "$SWAP_TO" "$4"; '
                                'echo 1; exit 0; fi\nexec /usr/bin/stat "$@"\n')
    (shims / "stat").chmod(0o755)
    monkeypatch.setenv("PATH", f"{shims}:{os.environ['PATH']}")
    monkeypatch.setenv("SWAP_TO", str(shadow))
    path = folder / "b2_mirror.json"
    path.write_text(json.dumps(MARKER))
    found = read_file(local, str(path))
    assert path.is_symlink()  # the swap happened
    assert found.data == b""
    assert found.problem is not None
    assert "Too many levels of symbolic links" in found.problem, found
    assert "not-a-real-hash" not in found.problem
