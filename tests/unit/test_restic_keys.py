"""The lab's cheaper restic key, against real restic: a repository restic made, its key wrapped
again at N=1024, still opens with the same password and reads what the old key wrote."""

import json
import os
import subprocess

import pytest

from lab.restic_keys import LAB_N, WrongPassword, key_id, opened, rewrapped


@pytest.fixture
def repository(tmp_path):
    env = {**os.environ, "RESTIC_PASSWORD": "lab password", "RESTIC_REPOSITORY": str(tmp_path / "repo")}
    (tmp_path / "source").mkdir()
    (tmp_path / "source/a.txt").write_text("kept\n")
    for words in (["init"], ["backup", str(tmp_path / "source")]):
        subprocess.run(["restic", "-q", *words], env=env, check=True, capture_output=True, timeout=120)
    return tmp_path / "repo", env


def restic(env, *words):
    return subprocess.run(["restic", "--no-lock", *words], env=env, capture_output=True, text=True,
                          timeout=120)


def test_a_rewrapped_key_opens_the_repository_with_the_same_password(repository):
    repo, env = repository
    (old,) = (repo / "keys").iterdir()
    assert json.loads(old.read_bytes())["N"] > LAB_N  # restic's own calibration
    cheap = rewrapped(old.read_bytes(), "lab password")
    (repo / "keys" / key_id(cheap)).write_bytes(cheap)
    old.unlink()
    assert json.loads(cheap)["N"] == LAB_N
    listed = restic(env, "ls", "latest")
    assert listed.returncode == 0, listed.stderr
    assert "a.txt" in listed.stdout  # what the old key's master key sealed, read again
    assert restic({**env, "RESTIC_PASSWORD": "other"}, "cat", "config").returncode != 0


def test_a_wrong_password_is_refused(repository):
    repo, _ = repository
    (key,) = (repo / "keys").iterdir()
    with pytest.raises(WrongPassword):
        opened(json.loads(key.read_bytes()), "other")
