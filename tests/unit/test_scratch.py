import os
import subprocess
import time

import pytest

from drills.core.transport import DrillCouldNotRun, Remote
from drills.inventory.schema import Host, Job
from drills.restores.scratch import (
    RUNNER,
    ScratchRefused,
    ensure_space,
    free_bytes,
    overlaps,
    refuse_overlap,
    scratch_dir,
    sweep,
)


def job(**changes) -> Job:
    base = {
        "name": "flux",
        "host": "h",
        "kind": "restic",
        "source": "/flux",
        "repository": "/srv/restic-repo",
        "rpo": "26h",
        "rto": "4h",
    }
    return Job.model_validate(base | changes)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("/flux", "/flux", True),
        ("/flux/x", "/flux", True),
        ("/", "/flux", True),
        ("/flux2", "/flux", False),
        ("/var/tmp/s", "/flux", False),
    ],
)
def test_overlap(a, b, expected):
    assert overlaps(a, b) is expected


@pytest.mark.parametrize("target", ["/flux/restore", "/srv/restic-repo/x", "/", "/srv"])
def test_a_target_overlapping_source_or_repository_is_refused(target):
    with pytest.raises(ScratchRefused, match=f"host h, job flux: refusing scratch {target}"):
        refuse_overlap(target, ["/flux", "/srv/restic-repo"], "h", "flux")


def test_scratch_inside_the_source_is_refused_before_anything_runs(tmp_path):
    remote = Remote(Host(name="h", transport="local://", scratch=str(tmp_path / "src" / "s")))
    with pytest.raises(ScratchRefused), scratch_dir(remote, job(source=str(tmp_path / "src"))):
        pass
    assert not (tmp_path / "src").exists()


def test_scratch_is_labelled_and_removed_even_on_error(tmp_path):
    remote = Remote(Host(name="h", transport="local://", scratch=str(tmp_path)))
    seen = []

    def drill_that_blows_up() -> None:
        with scratch_dir(remote, job()) as path:
            seen.append((os.path.isdir(path), os.path.basename(path)))
            raise RuntimeError("drill blew up")

    with pytest.raises(RuntimeError):
        drill_that_blows_up()
    assert seen[0][0]
    assert seen[0][1].startswith(f"drill-{RUNNER}-{os.getpid()}-")
    assert os.listdir(tmp_path) == []


def test_sweep_removes_leftovers_of_dead_runs_and_old_ones_only(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    now = int(time.time())
    names = {
        "dead": f"drill-{RUNNER}-{dead.pid}-{now}-aaaaaa",
        "alive": f"drill-{RUNNER}-{os.getpid()}-{now}-bbbbbb",
        "other": f"drill-otherrunner-{dead.pid}-{now}-cccccc",
        "old": f"drill-otherrunner-1-{now - 2 * 86400}-dddddd",
        "foreign": "not-ours",
    }
    for name in names.values():
        (tmp_path / name).mkdir()
    remote = Remote(Host(name="h", transport="local://", scratch=str(tmp_path)))
    swept = sweep(remote)
    assert sorted(swept) == sorted(str(tmp_path / names[k]) for k in ("dead", "old"))
    assert sorted(os.listdir(tmp_path)) == sorted(names[k] for k in ("alive", "other", "foreign"))


def test_free_space_is_read_from_the_nearest_existing_parent(tmp_path):
    remote = Remote(Host(name="h", transport="local://", scratch=str(tmp_path / "not" / "yet")))
    assert free_bytes(remote, str(tmp_path / "not" / "yet")) > 0


def test_a_restore_that_would_not_fit_is_refused_naming_sizes(tmp_path):
    remote = Remote(Host(name="h", transport="local://", scratch=str(tmp_path)))
    free = ensure_space(remote, job(), 1 << 20)
    with pytest.raises(
        DrillCouldNotRun,
        match=r"host h, job flux: refusing to restore .* MiB into "
        rf"{tmp_path}: only .* MiB free there",
    ):
        ensure_space(remote, job(), free)


def test_sweep_stops_a_process_still_writing_into_a_leftover(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    leftover = tmp_path / f"drill-{RUNNER}-{dead.pid}-{int(time.time())}-eeeeee"
    leftover.mkdir()
    writer = subprocess.Popen(["sh", "-c", f"sleep 300 # restoring into {leftover}"])
    remote = Remote(Host(name="h", transport="local://", scratch=str(tmp_path)))
    assert sweep(remote) == [str(leftover)]
    assert writer.wait(timeout=10) != 0
    assert not leftover.exists()
