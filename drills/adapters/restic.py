"""The restic adapter (restic 0.14 facts: ``check`` has no JSON and exits 1 on any error;
``snapshots --json`` has no summary). Read-only work runs with ``--no-lock``, except ``check``,
which takes restic's exclusive lock as restic advises. A lock it cannot take is asked for again
twice, a few seconds apart (a lock whose command just ended may still be listed by the store:
restic 0.14 has no ``--retry-lock``); still held, it is COULD NOT RUN.

    >>> restic = Restic(remote, job)                          # doctest: +SKIP
    >>> restic.latest_snapshot().short_id                     # doctest: +SKIP
    '93bb9d28'
    >>> restic.check(read_data_subset="10%").passed           # doctest: +SKIP
    True
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cached_property
from time import sleep
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from backup_drills.adapters.tool import (
    BackupTool,
    CheckResult,
    Listing,
    RestoreFailed,
    RestoreResult,
    RetentionDryRun,
    Snapshot,
)
from backup_drills.core.patterns import restic_excluded
from backup_drills.core.progress import written_into
from backup_drills.core.retention import Rules, Stamp, kept, restic_forget_kept
from backup_drills.core.tool_errors import COULD_NOT_RUN, DAMAGE, OBJECT_STORE, UNREACHABLE, ErrorTable
from backup_drills.core.transport import SCRIPTS, DrillCouldNotRun, Remote, Result, argv
from backup_drills.inventory.schema import Job

__all__ = ["CheckResult", "Lock", "Restic", "RestoreFailed", "RestoreResult", "Snapshot"]

log = logging.getLogger(__name__)

# restic 0.14 check prints these as progress; every other line is a finding worth showing.
_CHECK_PROGRESS = ("using temporary cache", "create exclusive lock", "create lock", "load indexes",
                   "check all packs", "check snapshots", "read group", "read all data", "read ",
                   "[", "no errors were found")


_CANNOT_OPEN = ("wrong password or no key found", "Is there a repository at the following location?",
                "unable to open config file")
# restic's own words: what its failed commands say, what a failed probe means
ERRORS = ErrorTable(
    says=(
        (r"unable to create lock|repository is already locked", COULD_NOT_RUN,
         "the repository stayed locked (the estate's own job holds it?)"),
        (r"wrong password or no key found", COULD_NOT_RUN, "wrong password or no key found"),
        (r"Is there a repository at the following location\?", COULD_NOT_RUN,
         "no restic repository there"),
        (r"ciphertext verification failed|Pack ID does not match|hash does not match|"
         r"repository contains errors|pack .* contains \d+ errors?", DAMAGE,
         "the repository holds data that fails its check"),
    ),
    findings=(
        ("wrong password or no key found", "refused the credentials (wrong password or no key found)"),
        (r"Is there a repository at the following location\?", "holds no restic repository"),
    ),
) + OBJECT_STORE + UNREACHABLE
LOCK_RETRY_SECONDS = (2.0, 3.0)  # the pauses before asking again for a lock another run holds
_LOCKED = "unable to create lock"
_INCLUDES_PER_RUN = 64 * 1024  # characters of --include patterns in one restic restore
_PATTERN_CHARS = re.compile(r"([\\*?\[\]])")


def literal_pattern(path: str) -> str:
    r"""``path`` as a restic filter pattern that matches it alone: its pattern characters
    (``\ * ? [ ]``, restic's ``filter`` over Go's ``filepath.Match``) escaped; U+FFFD, which
    restic's JSON prints for each byte that is not UTF-8, as ``?`` (one such byte).

    >>> literal_pattern("/flux/a*b/[x]?.txt")
    '/flux/a\\*b/\\[x\\]\\?.txt'
    """
    return _PATTERN_CHARS.sub(r"\\\1", path).replace("\ufffd", "?")


_LOOSE_SPACE = re.compile(r" (?=[ -]|$)")


def include_word(path: str) -> str:
    r"""``--include=PATTERN`` for ``path`` (``literal_pattern``): one word, so a pattern never
    reads as an option, and with no space before a dash, another space or the end (each such
    space a ``?``): a ``sudo: exact`` rule allows any such words without letting one of them be
    another option (sudo matches the words joined by spaces).

    >>> include_word("/flux/a - b ")
    '--include=/flux/a?- b?'
    """
    return "--include=" + _LOOSE_SPACE.sub("?", literal_pattern(path))


_DIFF_LINE = re.compile(r"^([-+MTU?])\s+(/.*)$")  # restic 0.14 diff: "-    /flux/a.txt"
_ID = re.compile(r"[0-9a-f]{8,64}")  # a snapshot's or lock's ID as restic prints it
# restic restore into RUN/ID, a folder that only ever receives that snapshot (restic 0.14 writes
# through a symlink an earlier restore left): a helper a sudo: exact host pins by its digest
_INTO = (SCRIPTS / "restic-into.sh").read_text(encoding="utf-8")
_REFUSED = "restic-into: "  # its one line when it refuses the folder (exit 3, restic not run)


class Lock(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str = ""
    time: AwareDatetime
    exclusive: bool = False
    hostname: str
    username: str = ""
    pid: int


class Restic:
    """restic against one job's repository, credentials from the host's own env file (the
    ``BackupTool`` of ``backup_drills.adapters.tool``)."""

    name: ClassVar[str] = "restic"
    noun: ClassVar[str] = "snapshot"
    newest: ClassVar[str] = "latest snapshot"
    backend: ClassVar[str] = "restic repository"
    prune: ClassVar[str] = "restic forget"
    ERRORS: ClassVar[ErrorTable] = ERRORS

    def __init__(self, remote: Remote, job: Job) -> None:
        if job.repository is None:
            raise ValueError(f"job {job.name} has no repository")
        self.remote, self.job, self.repository = remote, job, job.repository

    def _run(self, *words: str, timeout: float | None = None, lock: bool = False,
             progress: Callable[[], str] | None = None) -> Result:
        flags = () if lock else ("--no-lock",)
        command = ("restic", "-r", self.repository, *flags, *words)
        return self.remote.run(self.remote.with_credentials(command, self.job), timeout=timeout,
                               progress=progress)

    def _restore(self, run: str, snapshot: Snapshot, *options: str, timeout: float,
                 progress: Callable[[], str] | None = None) -> tuple[str, Result]:
        """``restic restore`` of ``snapshot`` into ``run/<its ID>`` (``restic-into.sh``: the
        run folder holds that folder alone, or the helper refuses, exit 3); the restored root."""
        snapshot_id = self._id(snapshot.id)
        command = ("sh", "-c", _INTO, "restic-into", run, self.repository, snapshot_id, *options)
        result = self.remote.run(self.remote.with_credentials(command, self.job), timeout=timeout,
                                 progress=progress)
        refusal = result.stderr.strip()
        if result.exit_status == 3 and refusal.startswith(_REFUSED) and "\n" not in refusal:
            raise DrillCouldNotRun(f"host {self.remote.name}, job {self.job.name}: refusing to restore "
                                   f"snapshot {snapshot.short_id}: {refusal.removeprefix(_REFUSED)}")
        return f"{run.rstrip('/')}/{snapshot_id}", result

    def _checked(self, *words: str) -> Result:
        """A read-only restic command that must succeed, else the drill could not run."""
        result = self._run(*words)
        if not result.ok:
            raise DrillCouldNotRun(f"host {self.remote.name}, job {self.job.name}: "
                                   f"`restic {' '.join(words)}` exited {result.exit_status}: "
                                   f"{result.tail(4)}")
        return result

    def _id(self, value: str) -> str:
        """An ID read back from the repository (a snapshot's, a lock's), before it goes into a
        command: hexadecimal only, so it can never be taken for an option.

        >>> Restic.__new__(Restic)._id("93bb9d28")
        '93bb9d28'
        """
        if not _ID.fullmatch(value):
            raise DrillCouldNotRun(f"host {self.remote.name}, job {self.job.name}: the repository "
                                   f"gave an ID that is not hexadecimal: {value[:80]!r}")
        return value

    def _json(self, *words: str) -> object:
        """restic's JSON answer to ``words``; ``--json`` goes before a ``--`` that ends the
        options (after it, restic would take it as a pattern or a path)."""
        cut = words.index("--") if "--" in words else len(words)
        return json.loads(self._checked(*words[:cut], "--json", *words[cut:]).text or "null")

    def snapshots(self) -> list[Snapshot]:
        """Snapshots of this job's host and source path, oldest first."""
        words = ["snapshots", "--host", self.hostname]
        if self.job.source:
            words += ["--path", self.job.source]
        listing = self._json(*words) or []
        if not isinstance(listing, list):
            raise DrillCouldNotRun(f"unexpected restic snapshots JSON: {str(listing)[:200]}")
        try:
            found = [Snapshot.model_validate(s) for s in listing]
        except ValidationError as exc:
            raise DrillCouldNotRun(f"unexpected restic snapshots JSON: {exc}") from exc
        return sorted(found, key=lambda snap: snap.time)

    def latest_snapshot(self) -> Snapshot | None:
        found = self.snapshots()
        return found[-1] if found else None

    @cached_property
    def hostname(self) -> str:
        """The host's own name, as restic records it in snapshots and locks (asked once)."""
        return self.remote.run(argv("hostname"), check=True).text.strip()

    @classmethod
    def probe_words(cls, address: str, limit: float, job: Job | None = None) -> list[str]:
        """``restic cat config``: the repository opens (its key, its config)."""
        return ["restic", "-r", address, "--no-lock", "cat", "config"]

    def check(self, read_data_subset: str | None = None, read_all: bool = False) -> CheckResult:
        """``restic check``, reading ``read_data_subset`` of the packs, or all of them (also
        ``read_data_subset="all"``)."""
        read_all = read_all or read_data_subset == "all"
        words = ["check"] + (["--read-data"] if read_all else
                             [f"--read-data-subset={read_data_subset}"] if read_data_subset else [])
        result = self._run(*words, timeout=3600, lock=True)
        for pause in LOCK_RETRY_SECONDS:
            if _LOCKED not in result.stderr:
                break
            log.info("host %s, job %s: %s is locked; restic check asks again in %.0fs",
                     self.remote.name, self.job.name, self.repository, pause)
            sleep(pause)
            result = self._run(*words, timeout=3600, lock=True)
        if result.exit_status not in (0, 1):
            raise DrillCouldNotRun(f"host {self.remote.name}: restic check exited "
                                   f"{result.exit_status}: {result.tail(4)}")
        if not result.ok and any(said in result.stderr for said in _CANNOT_OPEN):
            # restic 0.14 exits 1 for these too; 0.17+ has exit codes 10 and 12 (handled above)
            raise DrillCouldNotRun(f"host {self.remote.name}, job {self.job.name}: restic check "
                                   f"could not open {self.repository}: {result.tail(2)}")
        if _LOCKED in result.stderr:  # restic check takes an exclusive lock
            raise DrillCouldNotRun(f"host {self.remote.name}, job {self.job.name}: restic check "
                                   f"could not lock {self.repository} within "
                                   f"{sum(LOCK_RETRY_SECONDS):.0f}s (held by another run, or a "
                                   f"stale lock: see the locks scenario): {result.tail(4)}")
        errors = [line for line in (result.stderr + "\n" + result.text).splitlines()
                  if line.strip() and not line.startswith(_CHECK_PROGRESS)]
        return CheckResult(result.ok, errors if not result.ok else [],
                           argv("restic", "-r", self.repository, *words), result.seconds,
                           "restic check" + "".join(f" {word}" for word in words[1:]))

    def check_subset(self, subset: str) -> CheckResult:
        """``restic check`` reading ``subset`` of the packs (``10%``, ``2/4``, ``all``): the
        read rotation (``backup_drills.adapters.tool.ReadsSubsets``)."""
        return self.check(subset)

    def locks(self) -> list[Lock]:
        listing = self._run("list", "locks")
        if not listing.ok:
            raise DrillCouldNotRun(f"host {self.remote.name}: restic list locks exited "
                                   f"{listing.exit_status}: {listing.tail(3)}")
        found = []
        for lock_id in listing.text.split():
            raw = self._run("cat", "lock", self._id(lock_id))
            if raw.ok:
                found.append(Lock.model_validate({**json.loads(raw.text), "id": lock_id}))
        return found

    def holder_gone(self, lock: Lock) -> bool:
        """The lock was taken by a process of this host that no longer runs."""
        return lock.hostname == self.hostname and not self.process_alive(lock.pid)

    def restore_size(self, snapshot: Snapshot) -> int:
        """Bytes a full restore of ``snapshot`` writes (``restic stats --mode restore-size``)."""
        return self.restore_stats(snapshot)[0]

    def restore_stats(self, snapshot: Snapshot) -> tuple[int, int]:
        """(bytes, files) a full restore of ``snapshot`` writes (``restic stats --mode
        restore-size``, the same JSON in restic 0.14 and 0.18)."""
        stats = self._json("stats", "--mode", "restore-size", self._id(snapshot.id))
        if not isinstance(stats, dict) or not all(isinstance(stats.get(key), int) for key in
                                                  ("total_size", "total_file_count")):
            raise DrillCouldNotRun(f"unexpected restic stats JSON: {stats!r}"[:300])
        return int(stats["total_size"]), int(stats["total_file_count"])

    def find(self, snapshot: Snapshot, path: str) -> list[dict[str, object]]:
        """What ``restic find`` reports for one full path in one snapshot (type, size, mtime...)."""
        found = self._json("find", "--snapshot", self._id(snapshot.id), "--", path) or []
        if not isinstance(found, list):
            raise DrillCouldNotRun(f"unexpected restic find JSON: {str(found)[:200]}")
        return [m for hit in found if isinstance(hit, dict) for m in hit.get("matches") or []]

    def ls(self, snapshot: Snapshot, path: str) -> dict[str, int]:
        """Every file at or below ``path`` in ``snapshot``, at any depth, and its size
        (``listing``)."""
        return self.listing(snapshot, path).files

    def listing(self, snapshot: Snapshot, path: str) -> Listing:
        """``path`` in ``snapshot`` and its whole subtree (``restic ls --json --recursive``:
        without ``--recursive``, restic 0.14 to 0.18 list a folder and its direct children
        only, so a folder of subfolders would list no file); files with their sizes, every
        other node by its type. restic lists nothing for a path the snapshot lacks."""
        result = self._checked("ls", "--json", "--recursive", "--", self._id(snapshot.id), path)
        printed = (json.loads(line) for line in result.text.splitlines() if line.startswith("{"))
        nodes = [n for n in printed if n.get("struct_type") == "node"]
        return Listing({str(n["path"]): int(n.get("size") or 0) for n in nodes if n.get("type") == "file"},
                       {str(n["path"]): str(n.get("type")) for n in nodes if n.get("type") != "file"})

    def files(self, snapshot: Snapshot) -> dict[str, int]:
        """Every file of ``snapshot`` under the job's source, relative to it, with its size
        (``restic ls --json``; a byte that is not UTF-8 comes back as U+FFFD)."""
        source = str(self.job.source)
        result = self._checked("ls", "--json", "--recursive", "--", self._id(snapshot.id), source)
        nodes = (json.loads(line) for line in result.text.splitlines() if line.startswith("{"))
        return {str(n["path"]).removeprefix(f"{source}/"): int(n.get("size") or 0) for n in nodes
                if n.get("struct_type") == "node" and n.get("type") == "file"
                and str(n["path"]).startswith(f"{source}/")}

    def restore_files(self, snapshot: Snapshot, target: str, relatives: Sequence[str],
                      timeout: float) -> RestoreResult:
        """``restic restore`` of exactly these files into ``target/<snapshot ID>`` (the
        result's ``target``), each an ``--include=`` of its full path with restic's pattern
        characters escaped (``include_word``); as few runs as the command line allows, within
        ``timeout`` seconds in all."""
        source, started, commands = str(self.job.source), 0.0, []
        batches: list[list[str]] = [[]]
        for relative in relatives:
            if sum(len(p) for p in batches[-1]) > _INCLUDES_PER_RUN:
                batches.append([])
            batches[-1].append(include_word(f"{source}/{relative}"))
        restored = target
        for batch in batches:
            restored, result = self._restore(target, snapshot, *batch, timeout=max(timeout - started, 1.0))
            started += result.seconds
            commands.append(argv("restic", "-r", self.repository, "restore", self._id(snapshot.id),
                                 "--target", restored, "--include=..."))
            if not result.ok:
                raise RestoreFailed(f"host {self.remote.name}, job {self.job.name}: "
                                    f"`{commands[-1]}` ({len(batch)} files) exited "
                                    f"{result.exit_status}: {result.tail(6)}")
        return RestoreResult(snapshot, restored, started,
                             f"{commands[0]} ({len(relatives)} files, {len(batches)} run(s))")

    def diff(self, older: Snapshot, newer: Snapshot) -> list[tuple[str, str]]:
        """``restic diff`` of two snapshots: (change, path) with change ``+``, ``-``, ``M``,
        ``T`` or ``U``; directories end in ``/``."""
        result = self._checked("diff", self._id(older.id), self._id(newer.id))
        return [(found.group(1), found.group(2)) for line in result.text.splitlines()
                if (found := _DIFF_LINE.match(line))]

    def process_alive(self, pid: int) -> bool:
        return int(pid) > 1 and self.remote.run(argv("kill", "-0", str(int(pid)))).ok

    def restore(self, snapshot: Snapshot, target: str, includes: tuple[str, ...] = (),
                expected: int | None = None, verify: bool = False, timeout: float = 4 * 3600
                ) -> RestoreResult:
        """``restic restore`` into ``target/<snapshot ID>`` (the result's ``target``: see
        ``_restore``); with ``verify``, restic reads every restored file back and checks it
        against the snapshot's content hashes. While it runs, every 30 s the log says how much
        of ``expected`` bytes it has written."""
        options: list[str] = []
        for include in includes:
            options += ["--include", include]
        if verify:
            options.append("--verify")
        restored, result = self._restore(target, snapshot, *options, timeout=timeout,
                                         progress=written_into(self.remote, target, expected))
        command = argv("restic", "-r", self.repository, "--no-lock", "restore", self._id(snapshot.id),
                       "--target", restored, *options)
        if not result.ok:
            raise RestoreFailed(f"host {self.remote.name}, job {self.job.name}: `{command}` "
                                f"exited {result.exit_status}: {result.tail(6)}")
        return RestoreResult(snapshot, restored, result.seconds, command)

    def left_out(self, kinds: Callable[[str], str | None]) -> Callable[[str], bool]:
        """What ``restic backup`` of the source leaves out by the job's ``excludes`` (restic's
        own pattern rules, ``backup_drills.core.patterns``), by path relative to the source."""
        source = str(self.job.source)
        return lambda relative: restic_excluded(f"{source}/{relative}", self.job.excludes)

    def retention_stamps(self, found: Sequence[Snapshot]) -> list[Stamp]:
        """The snapshots as ``restic forget`` reads them: their recorded times, with their
        offsets, and their tags."""
        return [Stamp(s.short_id, s.time, tags=frozenset(s.tags)) for s in found]

    def rules(self) -> Rules:
        return kept

    def retention_dry_run(self, stamps: Sequence[Stamp], found: Sequence[Snapshot]) -> RetentionDryRun:
        """restic's own ``forget --dry-run --json`` (``--no-lock``: read-only) with the job's
        policy, host and path; ``ours`` as this restic counts (before 0.16 it keeps no oldest
        snapshot for an unmet rule)."""
        policy = self.job.retention
        if policy is None:
            raise DrillCouldNotRun(f"job {self.job.name} declares no retention policy")
        who = f"host {self.remote.name}, job {self.job.name}"
        version = re.search(r"restic (\d+)\.(\d+)",
                            self.remote.run(argv("restic", "version"), privileged=False).text)
        modern = version is None or (int(version[1]), int(version[2])) >= (0, 16)
        words = ("restic", "-r", self.repository, "--no-lock", "forget", "--dry-run", "--json",
                 "--host", self.hostname, *(("--path", self.job.source) if self.job.source else ()),
                 *policy.restic_words())
        result = self.remote.run(self.remote.with_credentials(words, self.job), timeout=600)
        if not result.ok:
            raise DrillCouldNotRun(f"{who}: `restic forget --dry-run` of {self.repository} "
                                   f"exited {result.exit_status}: {result.tail(4)}")
        try:
            theirs = restic_forget_kept(json.loads(result.text or "[]"))
        except (ValueError, KeyError) as exc:
            raise DrillCouldNotRun(f"{who}: `restic forget --dry-run --json` printed "
                                   f"no keep list ({exc})") from None
        return RetentionDryRun("restic forget --dry-run", theirs,
                               kept(stamps, policy, datetime.now(UTC), oldest=modern))


_CONFORMS: type[BackupTool] = Restic  # mypy holds the class to the protocol
