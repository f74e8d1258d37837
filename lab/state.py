"""The lab's machine-wide state: its SSH key, its generated credentials, its ssh_config and the
known_hosts file of its hosts' real keys (read from each host at bring-up; checked strictly).

Kept outside the checkout (``~/.local/state/backup-drills-lab``, or ``$DRILL_LAB_STATE``) so
that every clone on the machine drills the same lab. Secret files are mode 0600 and never
printed.

    >>> state = LabState.load_or_create()      # doctest: +SKIP
    >>> state.ssh_config.name
    'ssh_config'
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

STATE_DIR = Path(os.environ.get("DRILL_LAB_STATE", "~/.local/state/backup-drills-lab")).expanduser()
S3_PORT = 18333


@dataclass(frozen=True)
class Identity:
    """One S3 identity of the object store (the lab hands one to each job, like the runbook)."""

    name: str
    access_key: str
    secret_key: str


# reads objects, listings, ACLs and the buckets' configuration; writes nothing
AUDITOR_ACTIONS = ["Read", "List", "ReadAcp"]


@dataclass(frozen=True)
class LabState:
    root: Path
    identities: dict[str, Identity]
    restic_password: str

    @property
    def private_key(self) -> Path:
        return self.root / "id_ed25519"

    @property
    def ssh_config(self) -> Path:
        return self.root / "ssh_config"

    @property
    def known_hosts(self) -> Path:
        """The lab hosts' own keys, by name and by published address (``motoko,[127.0.0.1]:2222``):
        rewritten at every bring-up, since a recreated container makes new keys."""
        return self.root / "known_hosts"

    @property
    def fingerprint(self) -> str:
        """Changes whenever the key or the credentials change: containers carry it as a label."""
        material = json.dumps([self.private_key.with_suffix(".pub").read_text(),
                               sorted((i.name, i.access_key, i.secret_key)
                                      for i in self.identities.values()),
                               self.restic_password])
        return hashlib.sha256(material.encode()).hexdigest()[:16]

    @classmethod
    def load_or_create(cls, root: Path = STATE_DIR) -> LabState:
        root.mkdir(parents=True, exist_ok=True)
        root.chmod(0o700)
        key = root / "id_ed25519"
        if not key.exists():
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "drill-lab",
                            "-f", str(key)], check=True, timeout=30)
        secrets_file = root / "secrets.json"
        if not secrets_file.exists():
            doc = {
                "identities": {name: {"access_key": f"LAB{name.upper()}{secrets.token_hex(6)}",
                                      "secret_key": secrets.token_urlsafe(30)}
                               for name in ("admin", "mirror", "restic")},
                "restic_password": secrets.token_urlsafe(24),
            }
            fd = os.open(secrets_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(doc, handle)
        doc = json.loads(secrets_file.read_text())
        if "auditor" not in doc["identities"]:  # a lab made before the bucket audit: add it once
            doc["identities"]["auditor"] = {"access_key": f"LABAUDITOR{secrets.token_hex(6)}",
                                            "secret_key": secrets.token_urlsafe(30)}
            partial = secrets_file.with_suffix(".partial")
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump(doc, handle)
            partial.replace(secrets_file)
        identities = {name: Identity(name, v["access_key"], v["secret_key"])
                      for name, v in doc["identities"].items()}
        state = cls(root, identities, doc["restic_password"])
        state.write_auditor_env()
        return state

    @property
    def auditor_env(self) -> Path:
        """The runner-side env file (0600) with the auditor identity's key, as inventory/lab.yml's
        object store names it."""
        return self.root / "auditor.env"

    def write_auditor_env(self) -> None:
        auditor = self.identities["auditor"]
        text = (f"DRILL_LAB_AUDITOR_ACCESS_KEY_ID={auditor.access_key}\n"
                f"DRILL_LAB_AUDITOR_SECRET_ACCESS_KEY={auditor.secret_key}\n")
        if self.auditor_env.exists() and self.auditor_env.read_text() == text:
            return
        partial = self.auditor_env.with_suffix(".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        partial.replace(self.auditor_env)

    def s3_config(self) -> str:
        """SeaweedFS identities; admin for the lab itself, one identity per job, and the
        read-only auditor the suite reads the buckets' own controls with."""
        actions = ["Admin", "Read", "Write", "List", "Tagging"]
        return json.dumps({"identities": [
            {"name": i.name, "credentials": [{"accessKey": i.access_key,
                                              "secretKey": i.secret_key}],
             "actions": AUDITOR_ACTIONS if i.name == "auditor" else actions}
            for i in self.identities.values()]})

    def write_known_hosts(self, keys: dict[str, tuple[int, list[str]]]) -> None:
        """``keys``: each host's published SSH port and its public host key lines (``ssh-ed25519
        AAAA... root@motoko``, as /etc/ssh/ssh_host_*_key.pub hold them). Each key is filed under
        the host's name (port 22, as a jump host reaches it on the lab's network) and its
        published address."""
        lines = []
        for name, (port, found) in keys.items():
            if not found:
                raise ValueError(f"lab host {name}: no SSH host key found in /etc/ssh")
            lines += [f"{name},[127.0.0.1]:{port} {' '.join(key.split()[:2])}\n" for key in found]
        _replace(self.known_hosts, "".join(lines))

    def write_ssh_config(self, ports: dict[str, int]) -> None:
        blocks = [
            f"Host {name}\n  HostName 127.0.0.1\n  Port {port}\n  User root\n"
            f"  IdentityFile {self.private_key}\n  IdentitiesOnly yes\n"
            f"  StrictHostKeyChecking yes\n  UserKnownHostsFile {self.known_hosts}\n  LogLevel ERROR\n"
            "  ConnectTimeout 5\n  ServerAliveInterval 5\n  ServerAliveCountMax 3\n"
            for name, port in ports.items()]
        _replace(self.ssh_config, "".join(blocks))


def _replace(path: Path, text: str) -> None:
    """Write ``path`` at once: a drill reading it never sees half a file."""
    partial = path.with_suffix(".partial")
    partial.write_text(text)
    partial.replace(path)
