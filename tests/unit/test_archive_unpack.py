"""drills/scripts/archive-unpack.sh, run for real on this machine: a tarball's members come back
as the running user's files under umask 077, without setuid or setgid bits, even as root (GNU tar
keeps an archive's mode bits for root unless told not to); the output is only a new folder
directly in a run folder of the drill's scratch, never through a symlink."""

import io
import os
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from backup_drills.core.transport import SCRIPTS

UNPACK = SCRIPTS / "archive-unpack.sh"
# shell helpers and tar only, no dependency of the project: nothing new on its floors (make lowest)
pytestmark = pytest.mark.floors_irrelevant


def tarball(path: Path) -> Path:
    """A .tar.gz as a hostile backup could hold it: a setuid-root program, a setgid folder, a
    world-writable file, and a "." member of mode 0777."""
    with tarfile.open(path, "w:gz") as tar:
        for name, mode, kind in ((".", 0o777, tarfile.DIRTYPE), ("bin", 0o2777, tarfile.DIRTYPE),
                                 ("bin/su-ish", 0o4755, tarfile.REGTYPE), ("open", 0o666, tarfile.REGTYPE)):
            member = tarfile.TarInfo(name)
            member.type, member.mode, member.uid, member.gid = kind, mode, 0, 0
            data = b"#!/bin/sh\nid\n" if kind == tarfile.REGTYPE else b""
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data) if data else None)
    return path


@pytest.fixture
def run_folder(tmp_path: Path) -> Path:
    """A scratch root and a run folder in it, as drills/scripts/scratch-root.sh makes them."""
    root = tmp_path / "scratch"
    made = subprocess.run(["sh", str(SCRIPTS / "scratch-root.sh"), str(root), "drill-r-1-2-ab"],
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    return root / "drill-r-1-2-ab"


def unpack(archive: Path, out: Path | str, limit: int = 1 << 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(UNPACK), str(archive), str(out), "no", str(limit)],
                          capture_output=True, text=True)


def test_an_archive_that_unpacks_to_more_than_the_room_is_cut_and_named(tmp_path, run_folder):
    """A bomb: 50 MiB of zeros in a few kB of gzip. With room for 1 MiB, tar reads at most that
    much of its stream: exit 5 naming the archive and the room, and scratch holds no more."""
    bomb = tmp_path / "bomb.tar.gz"
    with tarfile.open(bomb, "w:gz") as tar:
        member = tarfile.TarInfo("zeros")
        member.size = 50 << 20
        tar.addfile(member, io.BytesIO(bytes(member.size)))
    assert bomb.stat().st_size < 200 << 10
    cut = unpack(bomb, run_folder / "n8n", limit=1 << 20)
    assert cut.returncode == 5, cut.stderr
    assert f"{bomb} unpacks to more than 1048576 bytes, the room scratch has: not unpacked" in cut.stderr
    assert sum(p.stat().st_size for p in (run_folder / "n8n").rglob("*")) <= 1 << 20
    done = unpack(bomb, run_folder / "whole", limit=60 << 20)  # with the room, it unpacks whole
    assert done.returncode == 0, done.stderr
    assert (run_folder / "whole" / "zeros").stat().st_size == 50 << 20


def test_members_come_back_without_setuid_setgid_or_bits_for_others(tmp_path, run_folder):
    done = unpack(tarball(tmp_path / "a.tar.gz"), run_folder / "n8n")
    assert done.returncode == 0, done.stderr
    out = run_folder / "n8n"
    modes = {p.relative_to(out).as_posix(): stat.S_IMODE(p.lstat().st_mode) for p in [out, *out.rglob("*")]}
    assert modes == {".": 0o700, "bin": 0o700, "bin/su-ish": 0o700, "open": 0o600}, modes
    assert {p.lstat().st_uid for p in [out, *out.rglob("*")]} == {os.geteuid()}
    assert (out / "bin/su-ish").read_bytes() == b"#!/bin/sh\nid\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="the control needs root: GNU tar keeps modes for root")
def test_the_control_tar_as_root_with_no_same_owner_alone_keeps_the_setuid_bit(tmp_path):
    """The defect the options fix: as root, --no-same-owner alone gives a setuid-root file."""
    (tmp_path / "old").mkdir()
    subprocess.run(["tar", "--no-same-owner", "-xzf", str(tarball(tmp_path / "a.tar.gz")), "-C",
                    str(tmp_path / "old")], check=True)
    assert (tmp_path / "old/bin/su-ish").stat().st_mode & stat.S_ISUID


@pytest.mark.parametrize("where", ["an existing folder", "a folder two levels down",
                                   "a symlinked run folder", "a run folder others may write",
                                   "outside scratch", "the run folder itself"])
def test_the_output_is_only_a_new_folder_directly_in_a_run_folder(tmp_path, run_folder, where):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    if where == "an existing folder":
        (run_folder / "n8n").mkdir()
        out = run_folder / "n8n"
    elif where == "a folder two levels down":
        out = run_folder / "x" / "n8n"
    elif where == "a symlinked run folder":
        (run_folder.parent / "drill-link").symlink_to(elsewhere)
        out = run_folder.parent / "drill-link" / "n8n"
    elif where == "a run folder others may write":
        run_folder.chmod(0o777)
        out = run_folder / "n8n"
    elif where == "outside scratch":
        out = elsewhere / "n8n"
    else:
        out = run_folder / ".."
    done = unpack(tarball(tmp_path / "a.tar.gz"), out)
    assert done.returncode != 0
    assert done.stderr.strip(), "the refusal says why"
    assert list(elsewhere.iterdir()) == []
    assert not (run_folder / "open").exists()
    assert not (run_folder / "n8n" / "open").exists()


def _scratch_check(script: Path) -> str:
    text = script.read_text()
    return text[text.index("scratch_run() {"):text.index("\n}\n")]


def test_the_helpers_that_write_into_scratch_as_root_share_one_check(tmp_path, run_folder):
    """borg extract writes into borg-in-dir's folder: the same check refuses a symlinked run
    folder before borg runs (exit 3), and allows the drill's own."""
    in_dir = SCRIPTS / "borg-in-dir.sh"
    assert _scratch_check(in_dir) == _scratch_check(UNPACK)
    (run_folder.parent / "drill-link").symlink_to(tmp_path)
    refused = subprocess.run(["sh", str(in_dir), str(run_folder.parent / "drill-link"), "--version"],
                             capture_output=True, text=True)
    assert refused.returncode == 3, refused.stderr
    assert "drill-link: not a folder of the drill's scratch" in refused.stderr
    allowed = subprocess.run(["sh", str(in_dir), str(run_folder), "--version"], capture_output=True,
                             text=True)
    assert allowed.returncode != 3, allowed.stderr  # borg ran (or is not installed here: 127)


def test_an_encrypted_archive_that_decrypts_to_more_than_the_room_is_cut_and_named(tmp_path, run_folder):
    """gpg's own output is cut at the room too: a few hundred bytes of .gpg (bzip2 inside) would
    otherwise decrypt to gigabytes, as root, before tar reads a byte."""
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--quiet"]
    subprocess.run([*gpg, "--passphrase", "", "--quick-gen-key", "drill@example.net", "default", "default",
                    "never"], check=True, capture_output=True, timeout=120)
    plain = tmp_path / "zeros.tar.gz"
    with tarfile.open(plain, "w:gz") as tar:
        member = tarfile.TarInfo("zeros")
        member.size = 20 << 20
        tar.addfile(member, io.BytesIO(bytes(member.size)))
    bomb = tmp_path / "zeros.tar.gz.gpg"
    subprocess.run([*gpg, "--trust-model", "always", "--compress-algo", "bzip2", "--recipient",
                    "drill@example.net", "--encrypt", "--output", str(bomb), str(plain)],
                   check=True, capture_output=True, timeout=120)
    args = ["sh", str(UNPACK), str(bomb), str(run_folder / "n8n"), "yes"]
    cut = subprocess.run([*args, str(plain.stat().st_size // 2), str(home)], capture_output=True, text=True)
    assert cut.returncode == 5, cut.stderr
    assert f"{bomb} decrypts to more than" in cut.stderr
    assert not (run_folder / "n8n.tar.gz").exists()  # nothing of it left beside the output
    done = subprocess.run([*args[:3], str(run_folder / "whole"), "yes", str(64 << 20), str(home)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (run_folder / "whole" / "zeros").stat().st_size == 20 << 20
