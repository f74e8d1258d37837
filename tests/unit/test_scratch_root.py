"""The scratch root on a ``sudo: exact`` host (drills/scripts/scratch-root.sh ``exact``), the
sweep of a root that fails the check, and borg-in-dir's refusal of its folder, each run for real
on crafted trees."""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from backup_drills.adapters.borg import Borg
from backup_drills.adapters.tool import Snapshot
from backup_drills.core.transport import SCRIPTS, DrillCouldNotRun, Remote
from backup_drills.inventory.schema import EXACT_SCRATCH, Host, Job
from backup_drills.restores.scratch import RUNNER, root_check, sweep

HELPER = SCRIPTS / "scratch-root.sh"


def check(root: Path, run: str = "drill-x-1-1-aa", *mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(HELPER), str(root), run, *mode], capture_output=True, text=True,
                          timeout=30)


@pytest.fixture
def root_only() -> Iterator[Path]:
    """A folder whose every ancestor is root's or ours and not writable by others (the home
    folder's chain, as on a host's /var/lib), unlike pytest's tmp_path below /tmp."""
    base = Path(tempfile.mkdtemp(dir=Path.home()))
    if check(base / "probe", "-", "exact").returncode != 0:
        os.rmdir(base)
        pytest.skip(f"no folder here whose ancestors only root or uid {os.geteuid()} may write")
    yield base
    subprocess.run(["rm", "-rf", "--", str(base)], check=True)


def test_an_exact_host_checks_its_root_strictly():
    exact = SimpleNamespace(host=Host(name="h", transport="local://", sudo="exact"))
    plain = SimpleNamespace(host=Host(name="h", transport="local://", sudo=True))
    assert root_check(exact, "drill-x-1-1-aa") == (EXACT_SCRATCH, "drill-x-1-1-aa", "exact")  # type: ignore[arg-type]
    assert root_check(plain) == ("/var/tmp/backup-drill", "-")  # type: ignore[arg-type]


@pytest.mark.parametrize("open_mode", [0o1777, 0o1770, 0o777])
def test_exact_refuses_any_folder_above_the_root_that_others_may_write_sticky_or_not(tmp_path, open_mode):
    """/var/tmp's mode (1777), a sticky group-writable and a plain world-writable folder: under
    sudo: exact anyone able to make the root's name there first could plant symlinks."""
    above = tmp_path / "open"
    above.mkdir()
    above.chmod(open_mode)
    root = above / "backup-drill"
    done = check(root, "drill-x-1-1-aa", "exact")
    assert done.returncode == 3, done
    assert done.stderr.startswith(f"{above}: owned by "), done.stderr
    assert f"mode {open_mode:04o}, directory; expected a folder (not a symlink) owned by " in done.stderr
    assert "not writable by group or others, sticky or not" in done.stderr
    assert not root.exists()  # nothing made
    if open_mode & 0o1000:  # without exact, a sticky folder above is trusted (/var/tmp)
        assert check(root).returncode == 0
        assert (root / "drill-x-1-1-aa").is_dir()


def test_exact_makes_a_missing_root_0700_under_a_root_only_parent_and_checks_alone(root_only):
    root = root_only / "scratch"
    assert check(root, "-", "exact").returncode == 0  # check only: a missing root is not made
    assert not root.exists()
    done = check(root, "drill-x-1-1-aa", "exact")
    assert done.returncode == 0, done
    assert oct(root.stat().st_mode & 0o7777) == "0o700"
    assert oct((root / "drill-x-1-1-aa").stat().st_mode & 0o7777) == "0o700"
    assert check(root, "-", "exact").returncode == 0
    root.chmod(0o777)
    done = check(root, "-", "exact")
    assert done.returncode == 3
    assert f"{root}: owned by " in done.stderr
    assert check(root, "-", "loose").returncode == 2  # an unknown mode is refused


def test_the_sweep_skips_a_root_that_fails_the_check_and_follows_no_link(tmp_path, caplog):
    """A root others may write (its names are not the drill's): nothing in it is removed, and
    nothing a link in it points to; a warning names host, root and why."""
    old = f"drill-{RUNNER}-1-{int(time.time()) - 2 * 86400}-aaaaaa"
    bait = tmp_path / "bait"
    (bait / old).mkdir(parents=True)
    root = tmp_path / "root"
    (root / old).mkdir(parents=True)
    planted = root / f"drill-{RUNNER}-2-{int(time.time()) - 2 * 86400}-bbbbbb"
    planted.symlink_to(bait)
    root.chmod(0o777)
    remote = Remote(Host(name="h", transport="local://", scratch=str(root)))
    with caplog.at_level(logging.WARNING, logger="backup_drills.restores.scratch"):
        assert sweep(remote) == []
    assert (root / old).is_dir()
    assert (bait / old).is_dir()
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1, said
    assert said[0].startswith(f"host h: not sweeping the scratch root {root}: {root}: owned by "), said
    link = tmp_path / "link"
    link.symlink_to(bait)  # a root that is a symlink: not listed, not followed
    assert sweep(Remote(Host(name="h", transport="local://", scratch=str(link)))) == []
    assert (bait / old).is_dir()
    root.chmod(0o700)  # the drill's own root again: swept
    assert sorted(sweep(remote)) == sorted([str(root / old), str(planted)])
    assert os.listdir(root) == []
    assert (bait / old).is_dir()  # the link removed, not what it points to


def test_borg_in_dir_refusing_its_folder_could_not_run_naming_host_job_and_folder(tmp_path):
    """borg never ran: not a verdict on the backup (borg's error table would judge exit 3)."""
    folder = tmp_path / "open" / "drill-x-1-1-aa"
    folder.mkdir(parents=True, mode=0o700)
    (tmp_path / "open").chmod(0o777)
    job = Job.model_validate({"name": "flux-borg", "host": "h", "kind": "borg", "source": "/flux",
                              "repository": str(tmp_path / "repo"), "rpo": "26h", "rto": "4h"})
    borg = Borg(Remote(Host(name="h", transport="local://", scratch=str(tmp_path))), job)
    archive = Snapshot(id="ab12", short_id="ab12", time=datetime.now(UTC), hostname="h", paths=["/flux"])
    with pytest.raises(DrillCouldNotRun) as refused:
        borg.extract(archive, str(folder))
    message = str(refused.value)
    assert message.startswith(f"host h, job flux-borg: borg extract did not run: its folder {folder} is "
                              "not a run folder of the drill's scratch: "), message
    assert f"{tmp_path / 'open'}: not a folder of the drill's scratch" in message
