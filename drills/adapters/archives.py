"""Tarball backups (MiracleMax): dated backup sets of per-component archives, some encrypted
with GPG, kept N days locally and copied to further tiers. Everything is read from listings on
the job's host; archives are decrypted and unpacked only into scratch there.

    >>> sets = parse_listing("1200\\t20261122_030000/n8n.tar.gz.gpg\\0"
    ...                      "1200\\tlatest/n8n.tar.gz.gpg\\0", "%Y%m%d_%H%M%S")
    >>> [(s.name, s.time.hour, s.files) for s in sets]
    [('20261122_030000', 3, {'n8n.tar.gz.gpg': 1200})]
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime

from backup_drills.adapters.restic import RestoreFailed
from backup_drills.core.transport import DrillCouldNotRun, Remote, argv, declared, script
from backup_drills.inventory.schema import Archives, Job
from backup_drills.restores.manifest import Comparison, compare, hash_tree
from backup_drills.restores.scratch import ensure_space, room_for, scratch_dir

# the first byte of an OpenPGP message that starts with an encrypted session key (old and new
# packet formats, public-key or passphrase): anything else is not encrypted
ENCRYPTED_FIRST_BYTES = {0x84, 0x85, 0x86, 0x87, 0xC1, 0x8C, 0x8D, 0x8E, 0x8F, 0xC3}
# the first byte of each file named as a positional parameter, one decimal value a line (empty
# when the file is empty or unreadable), in the order given; never through a link at its place
# (O_NOFOLLOW), and never blocking on a FIFO swapped in after the listing (O_NONBLOCK)
_FIRST_BYTES = ('for f do printf \'%s\\n\' "$(dd if="$f" iflag=nofollow,nonblock bs=1 count=1 '
                'status=none 2>/dev/null | od -An -tu1 | tr -d \' \\n\')"; done')


@dataclass(frozen=True)
class BackupSet:
    name: str
    time: datetime
    files: dict[str, int] = field(default_factory=dict)

    def archive(self, component: str) -> str | None:
        """The component's archive in this set (``n8n.tar.gz.gpg``, ``grafana.tar.gz``...)."""
        found = sorted(f for f in self.files if f.startswith(f"{component}.tar"))
        return found[0] if found else None


def parse_listing(text: str, set_format: str) -> list[BackupSet]:
    """Sets from NUL-ended ``<size>\\t<set>/<file>`` records (a file name may hold any byte
    but NUL, newlines and tabs included), oldest first; names not in ``set_format`` (``latest``,
    a ``.partial`` set) are not sets."""
    files: dict[str, dict[str, int]] = {}
    for record in text.split("\0"):
        size, _, path = record.partition("\t")
        name, _, file = path.partition("/")
        if file and "/" not in file and size.isdigit():
            files.setdefault(name, {})[file] = int(size)
    sets = []
    for name, found in files.items():
        try:
            made = datetime.strptime(name, set_format).replace(tzinfo=UTC)
        except ValueError:
            continue
        sets.append(BackupSet(name, made, found))
    return sorted(sets, key=lambda s: s.time)


def archives_of(job: Job) -> Archives:
    """The job's ``archives``, or the verdict that the drill cannot run without them."""
    return declared(job, job.archives, "archives")


def list_sets(remote: Remote, job: Job, root: str | None = None) -> list[BackupSet]:
    """The backup sets under the job's archive root (or one of its tiers), oldest first."""
    archives = archives_of(job)
    where = root or archives.root
    listed = remote.run(argv("find", "-H", where, "-mindepth", "2", "-maxdepth", "2", "-type", "f",
                             "-printf", "%s\\t%P\\0"))
    if not listed.ok:
        raise DrillCouldNotRun(f"host {remote.name}, job {job.name}: cannot list {root or archives.root}: "
                               f"{listed.tail(2)}")
    return parse_listing(listed.text, archives.set_format)


def newest_per_component(sets: list[BackupSet], components: list[str]) -> dict[str, BackupSet | None]:
    return {c: next((s for s in reversed(sets) if s.archive(c)), None) for c in components}


def first_bytes(remote: Remote, paths: list[str]) -> dict[str, int | None]:
    """The first byte of each file (None when empty or unreadable), in one command."""
    if not paths:
        return {}
    result = remote.run(argv("sh", "-c", _FIRST_BYTES, "first-bytes", *paths), timeout=120)
    values = result.text.split("\n")[:len(paths)]
    if not result.ok or len(values) != len(paths):
        raise DrillCouldNotRun(f"host {remote.name}: cannot read the first byte of {len(paths)} "
                               f"archives (exit {result.exit_status}): {result.tail(2)}")
    return {path: int(value) if value.isdigit() else None for path, value in zip(paths, values, strict=True)}


def in_clear(remote: Remote, job: Job) -> tuple[int, list[str]]:
    """Archives of components whose encryption is ``required`` that are not OpenPGP-encrypted,
    in the root and every tier: (archives checked, paths in clear)."""
    archives = archives_of(job)
    required = [c for c, spec in archives.components.items() if spec.encrypt == "required"]
    paths = []
    for root in (archives.root, *(t.path for t in archives.tiers)):
        for backup in list_sets(remote, job, root):
            paths += [f"{root}/{backup.name}/{f}" for c in required for f in backup.files
                      if f.startswith(f"{c}.tar")]
    firsts = first_bytes(remote, paths)
    return len(paths), [p for p in paths if firsts.get(p) not in ENCRYPTED_FIRST_BYTES]


@dataclass(frozen=True)
class ComponentRestore:
    component: str
    archive: str
    encrypted: bool
    seconds: float
    comparison: Comparison


@dataclass
class ArchiveRestore:
    """Every component's newest archive, decrypted and unpacked into scratch, compared."""

    job: Job
    host: str
    what: str
    restores: list[ComponentRestore]
    drill_seconds: float = 0.0

    def evidence(self) -> dict[str, object]:
        return {"what": self.what, "drill_seconds": round(self.drill_seconds, 3),
                "rto_seconds": self.job.rto.total_seconds() if self.job.rto else None,
                "restore_seconds": round(sum(r.seconds for r in self.restores), 3),
                "components": {r.component: {
                    "archive": r.archive, "encrypted": r.encrypted,
                    "restore_seconds": round(r.seconds, 3), "entries_compared": r.comparison.compared,
                    "differing": len(r.comparison.differing), "missing": len(r.comparison.missing),
                    "changed_after_backup": len(r.comparison.changed_after)}
                    for r in self.restores}}


def restore_newest(remote: Remote, job: Job) -> ArchiveRestore:
    """Decrypt (with ``gnupghome``'s keys) and unpack each component's newest archive into
    scratch, and compare it with the component's source; files changed in the source after the
    set was made are reported, not failed."""
    archives = archives_of(job)
    sets = list_sets(remote, job)
    newest = newest_per_component(sets, list(archives.components))
    absent = [c for c, s in newest.items() if s is None]
    if absent:
        raise DrillCouldNotRun(f"host {remote.name}, job {job.name}: no archive of "
                               f"{', '.join(absent)} under {archives.root}")
    ensure_space(remote, job, 3 * sum(s.files[str(s.archive(c))] for c, s in newest.items() if s))
    outcome = ArchiveRestore(job, remote.name, f"newest archives under {archives.root}", [])
    with scratch_dir(remote, job) as target:
        for component, backup in newest.items():
            assert backup is not None
            name = str(backup.archive(component))
            path, source = f"{archives.root}/{backup.name}/{name}", archives.components[component].source
            out = f"{target}/{component}"
            encrypted = name.endswith((".gpg", ".pgp", ".asc"))
            room = room_for(remote, remote.host.scratch)
            run = remote.run(script("archive-unpack", path, out, "yes" if encrypted else "no", str(room),
                                    archives.gnupghome or ""), timeout=4 * 3600)
            if run.exit_status == 5:  # a bomb, or a backup larger than scratch: never unpacked whole
                raise DrillCouldNotRun(f"host {remote.name}, job {job.name}: {run.tail(1)}")
            if not run.ok:
                raise RestoreFailed(f"host {remote.name}, job {job.name}: {path} did not "
                                    f"{'decrypt and ' if encrypted else ''}unpack: {run.tail(3)}")
            base = source.rstrip("/").rsplit("/", 1)[-1]
            restored = hash_tree(remote, f"{out}/{base}", ["."], missing_ok=True)
            original = hash_tree(remote, source, ["."])
            comparison = compare(original, restored, backup.time, job.name)
            outcome.restores.append(ComponentRestore(component, path, encrypted,
                                                     run.seconds + restored.seconds, comparison))
            outcome.drill_seconds += run.seconds + restored.seconds + original.seconds
    return outcome


def median_anomalies(sets: list[BackupSet], components: list[str], ratio: float) -> list[str]:
    """Components whose newest archive is smaller than ``ratio`` x the median of their earlier
    archives (MiracleMax's BackupSizeAnomaly), as messages."""
    problems = []
    for component in components:
        sizes = [(s.name, s.files[a]) for s in sets if (a := s.archive(component))]
        if len(sizes) < 3:
            continue
        (name, newest), history = sizes[-1], [size for _, size in sizes[:-1]]
        median = statistics.median(history)
        if newest < ratio * median:
            problems.append(f"{component}: {name} is {newest} bytes, below {ratio:g} x the median "
                            f"{median:.0f} of its {len(history)} earlier archives")
    return problems
