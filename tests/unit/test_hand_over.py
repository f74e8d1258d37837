"""The scratch-hand-over helper, run here as root on real folders: the file is moved to a fresh
home beside the run folder that the throwaway user gets only once the file is in place, so a
link it plants there later is never followed by a second hand-over (which fails on the existing
home); the run folder, where a restore as root keeps setuid bits, is never opened."""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

import pytest

from backup_drills.core.transport import SCRIPTS

HAND_OVER = SCRIPTS / "scratch-hand-over.sh"
# a shell helper only, no dependency of the project: nothing new on its floors (make lowest)
pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="the helper chowns: root only"),
              pytest.mark.floors_irrelevant]


def hand_over(target: Path, file: Path, home: Path, user: str = "nobody") -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(HAND_OVER), str(target), str(file), str(home), "dump", user],
                          capture_output=True, text=True, timeout=30)


def test_the_file_is_the_users_in_a_home_it_gets_last_and_a_second_hand_over_follows_nothing(tmp_path):
    root = tmp_path / "scratch"
    run = root / "drill-t-1-2-abcdef"
    run.mkdir(parents=True, mode=0o700)
    root.chmod(0o700)
    (run / "dump.sql").write_text("-- a dump\n")
    for home in (run / "pg", root / "drill-t-1-2-abcdee-home", tmp_path / "home"):  # not its home
        refused = hand_over(run, run / "dump.sql", home)
        assert (refused.returncode, home.exists()) == (2, False), refused.stderr
    link = root / "drill-t-1-2-abcde0"  # a run folder's name that is a link, or names nothing
    link.symlink_to(run)
    for target in (link, root / "drill-t-1-2-abcde1"):
        refused = hand_over(target, run / "dump.sql", root / f"{target.name}-home")
        assert (refused.returncode, (root / f"{target.name}-home").exists()) == (2, False), refused.stderr
    home = root / "drill-t-1-2-abcdef-home"
    done = hand_over(run, run / "dump.sql", home)
    assert done.returncode == 0, done.stderr
    nobody = pwd.getpwnam("nobody").pw_uid
    assert (home.stat().st_uid, home.stat().st_mode & 0o7777) == (nobody, 0o700)
    dump = home / "dump"
    assert (dump.stat().st_uid, dump.stat().st_mode & 0o7777) == (nobody, 0o400)
    assert root.stat().st_mode & 0o7777 == 0o711  # passed through, never listed
    assert run.stat().st_mode & 0o7777 == 0o700  # never opened: a later restore there stays root's
    # the throwaway user swaps its dump for a link to a folder of root's, then asks again
    victim = tmp_path / "etc"
    victim.mkdir(mode=0o755)
    dump.unlink()
    dump.symlink_to(victim)
    (run / "again.sql").write_text("-- again\n")
    again = hand_over(run, run / "again.sql", home)
    assert again.returncode != 0
    assert list(victim.iterdir()) == []
    assert victim.stat().st_uid == 0
