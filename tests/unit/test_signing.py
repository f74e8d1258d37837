import json
import os

import pytest

from drills.cli import evidence_main as main
from drills.evidence.signing import SigningError, keygen, sign_file, verify_path


@pytest.fixture
def evidence(tmp_path):
    run = tmp_path / "evidence" / "20261122T100000Z"
    run.mkdir(parents=True)
    for job in ("flux-backup@motoko", "space-mirror@akira"):
        (run / f"{job}.json").write_text(json.dumps({"job": job, "restore_seconds": 1.8}))
    private, public = keygen(tmp_path / "keys")
    for file in run.glob("*.json"):
        sign_file(file, private)
    return tmp_path / "evidence", run, private, public


def test_keygen_makes_a_private_key_only_its_owner_reads_and_never_overwrites(tmp_path):
    private, public = keygen(tmp_path)
    assert oct(os.stat(private).st_mode & 0o777) == "0o600"
    assert public.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    with pytest.raises(SigningError, match="refusing to overwrite"):
        keygen(tmp_path)


def test_signed_evidence_verifies(evidence):
    root, _, _, public = evidence
    assert verify_path(root, public) == []


def test_one_changed_byte_fails_verification_naming_the_file(evidence):
    root, run, _, public = evidence
    victim = run / "flux-backup@motoko.json"
    data = bytearray(victim.read_bytes())
    data[data.index(b"1.8")] = ord("9")
    victim.write_bytes(bytes(data))
    assert verify_path(root, public) == [
        f"{victim}: signature does not verify: the file was changed after signing, or signed with another key"
    ]


def test_unsigned_files_another_key_and_orphan_signatures_are_reported(evidence, tmp_path):
    root, run, _, _ = evidence
    (run / "new@host.json").write_text("{}")
    (run / "space-mirror@akira.json").unlink()
    _, other = keygen(tmp_path / "other")
    problems = verify_path(root, other)
    assert any("new@host.json: not signed" in p for p in problems)
    assert any("flux-backup@motoko.json: signature does not verify" in p for p in problems)
    assert any("space-mirror@akira.json.sig: signature without its file" in p for p in problems)


def test_the_command_line(evidence, tmp_path, capsys):
    root, run, private, public = evidence
    assert main(["verify", str(root), "--key", str(public)]) == 0
    assert "verified: 2 file(s)" in capsys.readouterr().out
    (run / "flux-backup@motoko.json").write_text("{}")
    assert main(["verify", str(root), "--key", str(public)]) == 1
    assert "FAILED" in capsys.readouterr().out
    assert main(["verify", str(root), "--key", str(private.with_suffix(".nope"))]) == 2
    assert "not a readable PEM public key" in capsys.readouterr().err
