"""Signing a manifest with OpenSSH's ssh-keygen (SSHSIG): the key from a file (0600 only), an
environment variable or ssh-agent; every signature checked by ssh-keygen -Y verify itself."""

import os
import subprocess

import pytest

from backup_drills.evidence.signing import (
    NAMESPACE,
    SigningError,
    allowed_signers_line,
    check_signature,
    keygen,
    sign,
    signing_key,
)


@pytest.fixture
def keys(tmp_path):
    return keygen(tmp_path / "keys")


@pytest.fixture
def manifest(tmp_path):
    path = tmp_path / "run" / "manifest.json"
    path.parent.mkdir()
    path.write_text('{"run_id": "20261203T100000Z"}\n')
    return path


def ssh_keygen_verify(manifest, allowed_signers):
    """The auditor's own command, as docs/evidence.md gives it."""
    with manifest.open("rb") as stdin:
        return subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed_signers), "-I",
                               "backup-drills", "-n", NAMESPACE, "-s", f"{manifest}.sig"], stdin=stdin,
                              capture_output=True, timeout=30).returncode


def test_keygen_makes_an_openssh_key_only_its_owner_reads_and_never_overwrites(tmp_path):
    private, public = keygen(tmp_path)
    assert oct(os.stat(private).st_mode & 0o777) == "0o600"
    assert public.read_text().startswith("ssh-ed25519 ")
    assert (tmp_path / "allowed_signers").read_text() == allowed_signers_line(public)
    assert 'namespaces="backup-drills-evidence"' in (tmp_path / "allowed_signers").read_text()
    with pytest.raises(SigningError, match="refusing to overwrite"):
        keygen(tmp_path)


def test_a_key_file_signs_and_ssh_keygen_verifies_it(keys, manifest):
    private, public = keys
    assert sign(manifest, signing_key(str(private))).name == "manifest.json.sig"
    assert check_signature(manifest, public) is None
    assert ssh_keygen_verify(manifest, public.parent / "allowed_signers") == 0
    manifest.write_text(manifest.read_text().replace("10", "11"))
    assert "signature does not verify" in check_signature(manifest, public)
    assert ssh_keygen_verify(manifest, public.parent / "allowed_signers") != 0


def test_a_key_file_others_can_read_is_refused_naming_it_and_its_mode(keys):
    private, _ = keys
    private.chmod(0o644)
    with pytest.raises(SigningError, match=rf"{private}: mode 0644, expected 0600"):
        signing_key(str(private))


def test_what_is_not_an_openssh_private_key_is_refused_naming_the_file(tmp_path, keys):
    _, _public = keys
    fake = tmp_path / "fake"
    fake.write_text("-----BEGIN PRIVATE KEY-----\n")
    fake.chmod(0o600)
    with pytest.raises(SigningError, match=f"{fake}: expected an OpenSSH private key"):
        signing_key(str(fake))
    with pytest.raises(SigningError, match="not readable"):
        signing_key(str(tmp_path / "absent"))
    with pytest.raises(SigningError, match="expected one OpenSSH ed25519 public key"):
        check_signature_with(fake)


def check_signature_with(public):
    path = public.parent / "m"
    path.write_text("x")
    path.with_name("m.sig").write_text("x")
    return check_signature(path, public)


def test_a_key_from_an_environment_variable_signs_and_leaves_no_file(keys, manifest, monkeypatch, tmp_path):
    private, public = keys
    monkeypatch.setenv("EVIDENCE_KEY", private.read_text())
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    sign(manifest, signing_key("env:EVIDENCE_KEY"))
    assert check_signature(manifest, public) is None
    assert list((tmp_path / "tmp").iterdir()) == []  # the key's temporary copy is gone
    monkeypatch.delenv("EVIDENCE_KEY")
    with pytest.raises(SigningError, match="env:EVIDENCE_KEY: the environment variable EVIDENCE_KEY is not"):
        signing_key("env:EVIDENCE_KEY")


def test_a_key_in_ssh_agent_signs_by_its_public_key(keys, manifest, tmp_path, monkeypatch):
    private, public = keys
    socket = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(socket)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(50):
            if socket.exists():
                break
            subprocess.run(["sleep", "0.1"], check=True)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(socket))
        subprocess.run(["ssh-add", "-q", str(private)], check=True, timeout=10, capture_output=True)
        private.unlink()  # only the agent holds it now
        sign(manifest, signing_key(f"agent:{public}"))
        assert check_signature(manifest, public) is None
    finally:
        agent.terminate()
        agent.wait(timeout=10)
    monkeypatch.delenv("SSH_AUTH_SOCK")
    with pytest.raises(SigningError, match="SSH_AUTH_SOCK is not set"):
        signing_key(f"agent:{public}")


def test_a_signature_by_another_key_or_none_at_all_is_named(keys, manifest, tmp_path):
    private, _ = keys
    _, other = keygen(tmp_path / "other")
    sign(manifest, signing_key(str(private)))
    assert "signature does not verify for backup-drills" in check_signature(manifest, other)
    (tmp_path / "run" / "manifest.json.sig").unlink()
    assert "manifest.json.sig: no signature" in check_signature(manifest, other)
