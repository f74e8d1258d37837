"""BorgBackup against one job's repository (``kind: borg``), credentials (``BORG_PASSPHRASE``)
from the host's own env file. Reads bypass borg's lock, as restic's ``--no-lock`` does, so a
drill never blocks the estate's own ``borg create``; ``borg check`` waits a bounded time for the
lock it needs. Times are read with ``TZ=UTC``: borg prints archive times in the host's local
time, without an offset.

    >>> borg = Borg(remote, job)                               # doctest: +SKIP
    >>> [a.short_id for a in borg.archives()][-1]              # doctest: +SKIP
    'motoko-2026-11-29T03:30:00'
    >>> parse_archives('{"archives": [{"name": "m-1", "id": "ab12", "start": "2026-11-29T03:30:00.000000"}]}',
    ...                "motoko", "/flux/active")[0].time.isoformat()
    '2026-11-29T03:30:00+00:00'
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from backup_drills.adapters.tool import BackupTool, CheckResult, RestoreResult, RetentionDryRun, Snapshot
from backup_drills.core.borg_patterns import (
    CACHE_TAG_CONTENTS,
    BorgPatternError,
    PatternMatcher,
    create_excluded,
    parse_exclude,
)
from backup_drills.core.progress import written_into
from backup_drills.core.retention import Policy, Rules, Stamp, borg_kept, borg_prune_kept, matching
from backup_drills.core.tool_errors import (
    COULD_NOT_RUN,
    DAMAGE,
    UNREACHABLE,
    ErrorTable,
    RepositoryDamaged,
    ToolCouldNotRun,
    failure,
    judge,
    named,
    said,
)
from backup_drills.core.transport import SCRIPTS, DrillCouldNotRun, Remote, Result, argv
from backup_drills.inventory.schema import Job
from backup_drills.restores.manifest import nothing_left_out

# borg's own words (borg 1.2's and 1.4's real outputs, tests/unit/recorded/borg-*/failures/): it
# prints a Python traceback and a footer (Platform, PID, sys.argv, SSH_ORIGINAL_COMMAND) after the
# line that names the problem, and borg check one "ID: ... rebuilt index" line per object after
# it, so the last lines of its output are the wrong end
ERRORS = ErrorTable(
    says=(
        (r"Failed to create/acquire the lock", COULD_NOT_RUN,
         "the repository stayed locked (the estate's own job holds it?)"),
        (r"passphrase supplied in BORG_PASSPHRASE", COULD_NOT_RUN, "wrong BORG_PASSPHRASE"),
        (r"is not a valid repository", COULD_NOT_RUN, "no borg repository there"),
        (r"Repository \S.* does not exist", COULD_NOT_RUN, "no borg repository there"),
        (r"Segment entry checksum mismatch", DAMAGE,
         "a segment entry fails its checksum (data corrupted on disk)"),
        (r"Data integrity error|IntegrityError", DAMAGE, "borg found data that fails its integrity check"),
        (r"No such file or directory: '[^']*/data/\d+/\d+'", DAMAGE,
         "a segment file of the repository is missing"),
        (r"Cache, or information obtained from the security directory is newer than repository",
         DAMAGE, "the repository is older than borg last saw it (segments lost, or rolled back)"),
        (r"Index object count mismatch", DAMAGE,
         "the repository index and its segments disagree (objects lost or added)"),
        (r"Repository has no manifest|Repository manifest not found|NoManifestError", DAMAGE,
         "the repository's manifest is missing"),
        (r"[Cc]orrupted|is missing|[Mm]issing (file )?chunk|orphaned objects", DAMAGE,
         "the repository lost or corrupted data"),
    ),
    findings=(
        ("passphrase supplied in BORG_PASSPHRASE", "refused the credentials (wrong BORG_PASSPHRASE)"),
        ("is not a valid repository", "holds no borg repository"),
        (r"Repository \S.* does not exist", "holds no borg repository (no such path)"),
    ),
    noise=(r"Local Exception|Remote Exception|Platform:|Linux:|Borg:|PID:|sys\.argv:|SSH_ORIGINAL_COMMAND:",
           r"\s*(Original size|Unique chunks|Number of files)",
           r"ID: [0-9a-f]{16,} rebuilt index|Checking segments \d|Processing|Analyzing archive"),
) + UNREACHABLE
LOCK_WAIT = 30  # seconds borg check waits for the repository lock (the estate's job may hold it)
# borg in the directory $1 (borg extract writes into its working directory): one program, so
# a ``sudo: exact`` host escalates it as a helper pinned by its digest, its words by sudoers
# borg extract writes into its working directory: this helper enters a run folder of scratch
# (checked: the drill's own, not a symlink) and runs borg there
_IN_DIR = (SCRIPTS / "borg-in-dir.sh").read_text(encoding="utf-8")
# borg-in-dir.sh's refusal of its folder (exit 3, before borg runs): only its own lines
_IN_DIR_SAID = re.compile(r"[^\n]*: not a (run )?folder of the drill's scratch[^\n]*")


def in_dir_refused(result: Result) -> bool:
    """Whether ``borg-in-dir`` refused its folder: exit 3 with nothing on stdout and only its
    own lines on stderr (borg with modern exit codes may exit 3 itself, and then says more).

    >>> in_dir_refused(Result(3, b"", b"/x: not a run folder of the drill's scratch\\n"))  # doctest: +SKIP
    True
    """
    said = [line for line in result.stderr.splitlines() if line.strip()]
    return result.exit_status == 3 and not result.text.strip() and bool(said) and \
        all(_IN_DIR_SAID.fullmatch(line) for line in said)


_PATHS_PER_RUN = 64 * 1024  # characters of pp: paths in one borg extract
_LOOSE_SPACE = re.compile(r" (?=[ -]|$)")
_SHELL_CHARS = re.compile(r"([*?\[\]])")


def extract_word(path: str) -> str:
    """``path`` (as borg keeps it, no leading slash) as one word of ``borg extract`` naming it
    alone: ``pp:PATH``, borg's literal path prefix; for a name with a space before a dash,
    another space or the end, ``sh:`` with each such space a ``?`` (borg's shell pattern, its
    pattern characters in brackets), so that no space in the words is followed by a dash and
    a ``sudo: exact`` rule can allow any of them without one being an option.

    >>> extract_word("flux/a b"), extract_word("flux/[x] - y*")
    ('pp:flux/a b', 'sh:flux/[[]x[]]?- y[*]')
    """
    if not _LOOSE_SPACE.search(path):
        return f"pp:{path}"
    return "sh:" + _LOOSE_SPACE.sub("?", _SHELL_CHARS.sub(r"[\1]", path))


def parse_archives(text: str, host: str, source: str) -> list[Snapshot]:
    """``borg list --json`` (run with TZ=UTC) as snapshots, oldest first: the archive's name
    is its short ID, its start its time."""
    try:
        listed: dict[str, Any] = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DrillCouldNotRun(f"host {host}: `borg list --json` printed no JSON ({exc})") from None
    archives = []
    for entry in listed.get("archives", []):
        start = datetime.fromisoformat(str(entry["start"]))
        archives.append(Snapshot(id=str(entry["id"]), short_id=str(entry["name"]),
                                 time=start if start.tzinfo else start.replace(tzinfo=UTC),
                                 hostname=host, paths=[source]))
    return sorted(archives, key=lambda a: a.time)


# borg create's tag tests (its dir_is_tagged), on the host: $1 the source, $2 "yes" for
# --exclude-caches, $3 CACHEDIR.TAG's signature, then pairs of an --exclude-if-present name as a
# find glob (escaped) and as itself. Prints NUL-ended "tag, path of the tag" records: a
# CACHEDIR.TAG whose first bytes are the signature, a name that exists (a link, if its target
# does), as borg opens and tests them.
_TAGGED = r'''cd -- "$1" || exit 44
caches=$2 signature=$3
shift 3
if [ "$caches" = yes ]; then
  find . -name CACHEDIR.TAG -exec sh -c 'for p; do
    [ "$(head -c 43 -- "$p" 2>/dev/null)" = "$0" ] && printf "CACHEDIR.TAG\0%s\0" "$p"
  done; exit 0' "$signature" {} + || exit
fi
while [ $# -ge 2 ]; do
  find . -path "*/$1" -exec sh -c 'for p; do
    [ -e "$p" ] && printf "%s\0%s\0" "$0" "$p"
  done; exit 0' "$2" {} + || exit
  shift 2
done'''


def _find_glob(name: str) -> str:
    """A name as a ``find -path`` glob that matches only itself."""
    return re.sub(r"([\\*?\[])", r"\\\1", name)


def borg_tagged(remote: Remote, job: Job, timeout: float = 600) -> dict[str, list[str]]:
    """The directories of the job's source that borg create's ``--exclude-caches`` and
    ``--exclude-if-present`` find tagged (absolute path: its tag names), asked of the host: a
    CACHEDIR.TAG's signature and a link's target cannot be told from a manifest."""
    source = posixpath.normpath(str(job.source))
    pairs = [word for tag in job.exclude_if_present for word in (_find_glob(tag.strip("/")), tag)]
    result = remote.run(argv("sh", "-c", _TAGGED, "borg-tagged", source,
                             "yes" if job.exclude_caches else "no",
                             CACHE_TAG_CONTENTS.decode(), *pairs), timeout=timeout)
    if not result.ok:
        raise DrillCouldNotRun(f"host {remote.name}, job {job.name}: cannot find the directories "
                               f"borg's tags exclude in {source}: {result.tail(4)}")
    words = [w.decode("utf-8", "surrogateescape") for w in result.stdout.split(b"\0")[:-1]]
    tagged: dict[str, list[str]] = {}
    for tag, path in zip(words[::2], words[1::2], strict=True):
        relative = path.removesuffix("/" + tag.strip("/")).removeprefix(".").strip("/")
        tagged.setdefault(posixpath.join(source, relative) if relative else source, []).append(tag)
    return tagged


def borg_left_out(job: Job, host: str, kinds: Callable[[str], str | None],
                  tagged: dict[str, list[str]]) -> Callable[[str], bool]:
    """What ``borg create`` of the job's source leaves out, by path relative to the source:
    its ``--exclude`` patterns (borg's styles, ``fm:`` by default), an excluded directory never
    descended into, and the directories its tags exclude (``tagged``, from ``borg_tagged``).
    ``kinds(relative)`` is the entry's type (``d`` a directory)."""
    if not (job.excludes or tagged):
        return nothing_left_out
    try:
        matcher = PatternMatcher([parse_exclude(e) for e in job.excludes if e], fallback=True)
    except BorgPatternError as exc:
        raise DrillCouldNotRun(f"host {host}, job {job.name}: borg refuses an exclude: {exc}") from None
    source = posixpath.normpath(str(job.source))

    def is_dir(path: str) -> bool:
        relative = path[len(source):].strip("/")
        return relative == "" or kinds(relative) == "d"

    def left_out(relative: str) -> bool:
        return create_excluded(posixpath.join(source, relative), source, matcher, is_dir,
                               lambda d: tagged.get(d, []), job.keep_exclude_tags)
    return left_out


class Borg:
    """borg against one job's repository (a path on the host, or ``ssh://...`` as borg takes);
    the ``BackupTool`` of ``backup_drills.adapters.tool``."""

    name: ClassVar[str] = "borg"
    noun: ClassVar[str] = "archive"
    newest: ClassVar[str] = "newest archive"
    backend: ClassVar[str] = "borg repository"
    prune: ClassVar[str] = "borg prune"
    ERRORS: ClassVar[ErrorTable] = ERRORS
    _no_policy: ClassVar[str] = " declares no retention policy"  # as a refusal says it

    def __init__(self, remote: Remote, job: Job) -> None:
        if job.repository is None:
            raise ValueError(f"job {job.name} has no repository")
        self.remote, self.job, self.repository = remote, job, job.repository

    @classmethod
    def probe_words(cls, address: str, limit: float, job: Job | None = None) -> list[str]:
        """``borg list --last 1``: the repository opens (``borg info`` reads every archive's
        metadata and fails where ``borg list`` and ``borg check`` still work)."""
        return ["borg", "list", "--last", "1", "--short", "--bypass-lock", address]

    def _borg(self) -> tuple[str, ...]:
        """How borg is called (borgmatic: through ``borgmatic borg``)."""
        return ("borg",)

    def _in_dir(self, cwd: str, words: Sequence[str]) -> tuple[str, ...]:
        """``words`` for borg, run in ``cwd`` (borg extract writes into its working directory):
        a helper enters it first, one program a ``sudo: exact`` host pins by its digest."""
        return ("sh", "-c", _IN_DIR, "borg-in-dir", cwd, *words)

    def _shown(self, *words: str, cwd: str | None = None) -> str:
        """The command that runs borg with ``words``, as messages and the evidence show it (in
        ``cwd``: ``cd DIR && ...``): how borg is called (``borgmatic -c CONFIG ... borg ... --``
        for borgmatic) and borg's words; no environment, so never a credential.

        >>> Borg(remote, job)._shown("list", "/srv/borg/flux::a b")  # doctest: +SKIP
        "borg list '/srv/borg/flux::a b'"
        """
        command = argv(*self._borg(), *words)
        return f"{argv('cd', cwd)} && {command}" if cwd else command

    def _run(self, *words: str, cwd: str | None = None, timeout: float | None = None,
             local: bool = False, progress: Callable[[], str] | None = None) -> Result:
        zone = () if local else ("TZ=UTC",)
        command = self._in_dir(cwd, words) if cwd else \
            ("env", *zone, "BORG_RELOCATED_REPO_ACCESS_IS_OK=no", *self._borg(), *words)
        result = self.remote.run(self.remote.with_credentials(command, self.job), timeout=timeout,
                                 progress=progress)
        if cwd and in_dir_refused(result):  # borg never ran: not a verdict on the backup
            raise DrillCouldNotRun(f"host {self.remote.name}, job {self.job.name}: borg {words[0]} "
                                   f"did not run: its folder {cwd} is not a run folder of the "
                                   f"drill's scratch: {result.stderr.strip()}")
        return result

    def _listed(self, local: bool = False) -> str:
        """``borg list --json`` of the repository (times in UTC, or ``local``: the host's own)."""
        words = ("list", "--json", "--bypass-lock", self.repository)
        result = self._run(*words, local=local)
        if not result.ok:
            raise self._failure(self._shown(*words), result)
        return result.text

    def _failure(self, command: str, result: Result) -> Exception:
        """A failed read, in borg's own words: damage (NOT COMPLIANT) or COULD NOT RUN."""
        return failure(f"host {self.remote.name}, job {self.job.name}", command,
                       f"{result.stderr}\n{result.text}", result.exit_status, self.ERRORS)

    def archives(self) -> list[Snapshot]:
        """Every archive of the repository, oldest first."""
        return parse_archives(self._listed(), self.remote.name, str(self.job.source))

    def snapshots(self) -> list[Snapshot]:
        """The archives, as every verdict reads them (``archives``)."""
        return self.archives()

    def local_times(self) -> dict[str, datetime]:
        """Each archive's start in the host's own local time (what ``borg prune`` buckets by),
        by archive name."""
        return {str(entry["name"]): datetime.fromisoformat(str(entry["start"])).replace(tzinfo=None)
                for entry in json.loads(self._listed(local=True)).get("archives", [])}

    def check(self, read_data: str | None = None, timeout: float = 4 * 3600) -> CheckResult:
        """``borg check`` of the repository and its archives (any ``read_data``:
        ``--verify-data``, every chunk read and authenticated). Damage it finds fails the check,
        named by borg's own lines (not its per-object lines or traceback), the full output kept;
        only a repository borg cannot open (a lock it cannot take in LOCK_WAIT seconds, a wrong
        passphrase, no repository there) is COULD NOT RUN."""
        verify = ["--verify-data"] if read_data else []
        words = ("check", "--lock-wait", str(LOCK_WAIT), *verify, self.repository)
        result = self._run(*words, timeout=timeout)
        what, command = "borg check" + "".join(f" {word}" for word in verify), self._shown(*words)
        output = f"{result.stderr}\n{result.text}"
        judgement = judge(output, self.ERRORS) if not result.ok else None
        if judgement is not None and judgement.kind == COULD_NOT_RUN:
            lines = "\n  ".join(named(output, self.ERRORS).splitlines())
            raise ToolCouldNotRun(f"host {self.remote.name}, job {self.job.name}: {what} of "
                                  f"{self.repository} could not run (lock wait {LOCK_WAIT}s): "
                                  f"{judgement.means}; `{command}` said:\n  {lines}", output)
        means = f", {judgement.means}" if judgement else ""
        errors = [] if result.ok else said(output, result.exit_status, self.ERRORS).splitlines()
        return CheckResult(result.ok, errors, command, result.seconds, what,
                           f"failed (exit {result.exit_status}){means}; `{command}` said",
                           "" if result.ok else output.strip())

    def original_size(self, archive: Snapshot) -> int:
        """Bytes the archive restores to (``borg info --json``)."""
        return self.restore_stats(archive)[0]

    def restore_stats(self, snapshot: Snapshot) -> tuple[int, int]:
        """(bytes, files) the archive restores to (``borg info --json``: its ``original_size``
        and ``nfiles``)."""
        words = ("info", "--json", "--bypass-lock", f"{self.repository}::{snapshot.short_id}")
        result = self._run(*words)
        if not result.ok:
            raise self._failure(self._shown(*words), result)
        stats = json.loads(result.text)["archives"][0]["stats"]
        return int(stats["original_size"]), int(stats["nfiles"])

    def extract(self, archive: Snapshot, target: str, timeout: float = 4 * 3600,
                expected: int | None = None) -> RestoreResult:
        """The whole archive extracted into ``target`` (borg stores paths without their leading
        slash: /flux/active comes back as ``target``/flux/active), as ``borg-in-dir`` extracts:
        ``borg export-tar`` into GNU tar, never borg's own extract (it follows a link the same
        archive made: see the helper); every 30 s the log says how much of ``expected`` bytes
        it has written."""
        location = f"{self.repository}::{archive.short_id}"
        result = self._run("extract", "--bypass-lock", location, cwd=target, timeout=timeout,
                           progress=written_into(self.remote, target, expected))
        command = f"{self._shown('export-tar', '--bypass-lock', location, '-', cwd=target)} | tar -x -f -"
        if not result.ok:  # a restore that stops is a verdict on the backup, unless borg could not open it
            output = f"{result.stderr}\n{result.text}"
            judgement = judge(output, self.ERRORS)
            if judgement is not None and judgement.kind == COULD_NOT_RUN:
                raise self._failure(command, result)
            means = f", {judgement.means}" if judgement else ""
            raise RepositoryDamaged(f"host {self.remote.name}, job {self.job.name}: `{command}` exited "
                                    f"{result.exit_status}{means}:\n  "
                                    + "\n  ".join(said(output, result.exit_status, self.ERRORS).splitlines()),
                                    output)
        return RestoreResult(archive, target, result.seconds, command)

    def restore(self, snapshot: Snapshot, target: str, includes: tuple[str, ...] = (), /, *,
                expected: int | None = None, verify: bool = False) -> RestoreResult:
        """The whole archive extracted into ``target`` (``extract``); borg extract verifies
        every chunk it reads, ``verify`` asks nothing more. ``includes`` are refused: the borg
        drills restore whole archives."""
        if includes:
            raise DrillCouldNotRun(f"host {self.remote.name}, job {self.job.name}: the borg drill "
                                   "restores whole archives, not single paths")
        return self.extract(snapshot, target, expected=expected)

    def files(self, snapshot: Snapshot) -> dict[str, int]:
        """Every regular file of the archive under the job's source, relative to it, with its
        size (``borg list --json-lines``; borg keeps paths without their leading slash)."""
        location = f"{self.repository}::{snapshot.short_id}"
        words = ("list", "--json-lines", "--bypass-lock", location)
        result = self._run(*words, timeout=3600)
        if not result.ok:
            raise self._failure(self._shown(*words), result)
        prefix = str(self.job.source).strip("/") + "/"
        found: dict[str, int] = {}
        for line in result.text.splitlines():
            item = json.loads(line) if line.startswith("{") else {}
            path = str(item.get("path", ""))
            if item.get("type") == "-" and path.startswith(prefix):
                found[path.removeprefix(prefix)] = int(item.get("size") or 0)
        return found

    def restore_files(self, snapshot: Snapshot, target: str, relatives: Sequence[str],
                      timeout: float) -> RestoreResult:
        """``borg extract`` of exactly these files into ``target``, each named by a ``pp:``
        path prefix (borg's literal form: no pattern character means anything, and a prefix
        matches the path itself or below it, never a longer name); as few runs as the command
        line allows, within ``timeout`` seconds in all."""
        location, prefix = f"{self.repository}::{snapshot.short_id}", str(self.job.source).strip("/")
        batches: list[list[str]] = [[]]
        for relative in relatives:
            if sum(len(p) for p in batches[-1]) > _PATHS_PER_RUN:
                batches.append([])
            batches[-1].append(extract_word(f"{prefix}/{relative}"))
        seconds = 0.0
        shown = self._shown("export-tar", "--bypass-lock", location, "-", cwd=target)
        command = f"{shown} pp:... | tar -x -f -"
        for batch in batches:
            result = self._run("extract", "--bypass-lock", location, *batch, cwd=target,
                               timeout=max(timeout - seconds, 1.0))
            seconds += result.seconds
            if not result.ok:
                raise self._failure(f"{command} ({len(batch)} files)", result)
        return RestoreResult(snapshot, target, seconds,
                             f"{command} ({len(relatives)} files, {len(batches)} run(s))")

    def left_out(self, kinds: Callable[[str], str | None]) -> Callable[[str], bool]:
        """What ``borg create`` leaves out (``borg_left_out``), the tagged directories asked of
        the host when the job declares ``exclude_caches`` or ``exclude_if_present``."""
        tagged = (borg_tagged(self.remote, self.job)
                  if self.job.exclude_caches or self.job.exclude_if_present else {})
        return borg_left_out(self.job, self.remote.name, kinds, tagged)

    def retention_stamps(self, found: Sequence[Snapshot]) -> list[Stamp]:
        """The archives ``borg prune`` rules on (``match_archives``; checkpoints left out), dated
        in the host's local time (what prune buckets days and weeks by), with their instants.
        A policy with a rule borg prune does not have could not run."""
        policy = self.job.retention or Policy()
        if policy.borg_unsupported():
            raise DrillCouldNotRun(f"host {self.remote.name}, job {self.job.name}: the retention "
                                   f"policy's {', '.join(policy.borg_unsupported())} is restic's; "
                                   "borg prune has no such rule")
        instants = {a.short_id: a for a in found}
        local = self.local_times()
        return matching([Stamp(name, when.replace(tzinfo=None), "archive",
                               at=instants[name].time if name in instants else None)
                         for name, when in sorted(local.items(), key=lambda item: item[1])], policy)

    def rules(self) -> Rules:
        return borg_kept

    def retention_dry_run(self, stamps: Sequence[Stamp], found: Sequence[Snapshot]) -> RetentionDryRun:
        """borg's own ``prune --dry-run --list`` with the job's policy, against ``borg_kept``
        (with ``within`` counted from now, as the dry run counts it). It deletes nothing but
        takes the repository's lock, waiting for it up to LOCK_WAIT seconds."""
        policy = self.job.retention
        if policy is None:
            raise DrillCouldNotRun(f"job {self.job.name}{self._no_policy}")
        now = datetime.now(UTC)
        words = ("prune", "--dry-run", "--list", "--lock-wait", str(LOCK_WAIT), *policy.borg_words(),
                 self.repository)
        result = self._run(*words, local=True, timeout=600)
        output = f"{result.stderr}\n{result.text}"
        if not result.ok:  # borg's own lines (a lock it could not take), not borgmatic's footer
            raise self._failure(self._shown(*words), result)
        theirs = borg_prune_kept(output, {a.id: a.short_id for a in found})
        return RetentionDryRun("borg prune --dry-run", theirs, borg_kept(stamps, policy, now))


_CONFORMS: type[BackupTool] = Borg  # mypy holds the class to the protocol
