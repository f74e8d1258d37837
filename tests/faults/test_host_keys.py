"""An impostor host key, over each transport: a host entry reaching a real lab sshd (motoko's)
while trusting another key (akira's, pinned) or a known_hosts file that lacks motoko's, is
could not run before any command reaches the host, and the refusal names the key motoko offered.
The same entry trusting motoko's own key runs the command: the check can tell them apart."""

import subprocess
import uuid

import pytest

from backup_drills.core.transport import HostUnreachable, Remote
from backup_drills.inventory.schema import Host
from lab.state import LabState

pytestmark = [pytest.mark.lab, pytest.mark.touches("motoko")]


def ed25519_key(container: str) -> str:
    """A lab host's public ed25519 host key, as the operator would copy it from the host."""
    return subprocess.run(["docker", "exec", container, "cat", "/etc/ssh/ssh_host_ed25519_key.pub"],
                          capture_output=True, text=True, check=True, timeout=30).stdout.strip()


def fingerprint(key: str) -> str:
    listed = subprocess.run(["ssh-keygen", "-l", "-f", "-"], input=key, capture_output=True, text=True,
                            check=True, timeout=30).stdout
    return listed.split()[1]


@pytest.mark.parametrize("scheme", ["ssh", "paramiko"])
def test_an_impostor_host_key_is_refused_naming_it_before_any_command_runs(scheme, motoko, tmp_path):
    lab = LabState.load_or_create()
    real, impostor = ed25519_key("drill-lab-motoko"), ed25519_key("drill-lab-akira")
    others = tmp_path / "known_hosts"  # every lab host's keys but motoko's
    others.write_text("".join(line for line in lab.known_hosts.read_text().splitlines(keepends=True)
                              if not line.startswith("motoko,")))
    marker = f"/tmp/impostor-{uuid.uuid4().hex}"
    base = {"name": "motoko", "transport": f"{scheme}://motoko", "ssh_config": str(lab.ssh_config)}
    for trust in ({"ssh_host_key": impostor}, {"ssh_known_hosts": str(others)}):
        remote = Remote(Host(**base, **trust), timeout=30)
        with pytest.raises(HostUnreachable) as refused:
            remote.run(f"touch {marker}")
        said = str(refused.value)
        assert said.startswith("host motoko unreachable: Host key verification failed: "), said
        assert f"ED25519 key {fingerprint(real)}" in said, said  # the key the host offered
        assert ("ssh_host_key: of host motoko" if "ssh_host_key" in trust
                else f"ssh-keyscan -t ed25519 -p 2222 127.0.0.1 >> {others}") in said, said
        assert motoko.read(marker) is None, f"a command reached motoko over {scheme}:// ({trust})"
    trusted = Remote(Host(**base, ssh_host_key=real), timeout=30)  # the address does not matter
    try:
        assert trusted.run(f"touch {marker}").ok
        assert motoko.read(marker) == b""
    finally:
        motoko.sh(f"rm -f {marker}")
