"""``backup-drills sudoers``: the sudoers file of exactly what a ``sudo: exact`` drill escalates.

Each rule is one absolute program of ``backup_drills.core.privilege.PROGRAMS`` (or a shell helper
pinned by its sha256) with its arguments pinned by a regular expression (sudo 1.9.10 and
later) built from the inventory: the repository, the source and samples, scratch with its random
suffix, snapshot ids, the units. No rule allows a shell, ``env``, ``timeout``, or a program with
free arguments. A job whose commands cannot be pinned yet is refused, naming job and kind:

    >>> print(sudoers_file(inventory, "motoko", "drill-exact"))     # doctest: +SKIP
    Defaults!/usr/bin/restic env_file=/etc/miket/storage-credentials.env
    drill-exact ALL=(root) NOPASSWD: /usr/bin/restic ^-r s3\\:http...
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from backup_drills.core.hostfile import CAP, TEXTFILE_CAP
from backup_drills.core.privilege import KEPT_ENV, PROGRAMS, helper_digest, helper_path
from backup_drills.core.transport import SCRIPTS
from backup_drills.inventory.schema import EXACT_SCRATCH, Host, Inventory, Job
from backup_drills.restores.scratch import HOME

# the kinds whose every privileged command has a rule
COVERED = ("restic", "restic-check", "borg", "rclone-mirror", "restore-test", "gpg-tar", "pg-dump",
           "redis-rdb")
EXIT_NOT_COVERED = 4  # a job the generator cannot cover: bad input for `sudo: exact`
ID = "[0-9a-f]{8,64}"  # a restic snapshot or lock id, as restic.py checks it before use
NAME = "[A-Za-z0-9][A-Za-z0-9._-]*"  # the host's own name (restic --host), read with hostname
NUMBER = "[0-9]+"
# a borg archive name as the drill sends it back (REPOSITORY::NAME): no space, no slash, and a
# colon only between other characters (escaped, outside a bracket: sudoers and re alike)
ARCHIVE = "[A-Za-z0-9_+@.-]+(\\:[A-Za-z0-9_+@.-]+)*"
THROWAWAY = "drill-[0-9a-f]{10}"  # the throwaway user a database restore makes (throwaway.NAME)
AS_THROWAWAY = f"-u {THROWAWAY} --"  # runuser's words before the program it runs as that user
PG_PROGRAMS = "/usr/lib/postgresql/[0-9]+/bin"  # databases.PG_BIN_FOLDER


class NotCovered(ValueError):
    """A job or value the generator cannot pin exactly: no too-broad rule is written instead."""


def lit(text: str) -> str:
    """``text`` as a regular expression of itself, for sudoers (``, : = #`` escaped too) and
    Python's ``re`` alike (a backslash before any of those is a literal in both).

    >>> print(lit("s3:http://x/a.b"))
    s3\\:http\\://x/a\\.b
    """
    if any(ord(c) < 32 or c in "\\\x7f" for c in text):
        raise NotCovered(f"{text!r}: a control character or backslash cannot be pinned")
    return re.sub(r"([.\[\](){}*+?|^$,:=#])", r"\\\1", text)


def alt(*options: str) -> str:
    """One of ``options`` (already expressions), as one group."""
    return f"({'|'.join(dict.fromkeys(options))})"


@dataclass(frozen=True)
class Rule:
    """One sudoers command: ``program`` with arguments matching ``args`` (an anchored regular
    expression; "" is no arguments), and why the drill runs it."""

    program: str
    args: str
    why: str
    digest: str | None = None

    def matches(self, words: Sequence[str]) -> bool:
        """Whether sudo allows ``words`` (program first) by this rule: sudo matches the
        arguments joined by spaces, with POSIX regcomp, where ``.`` matches a newline too."""
        if not words or words[0] != self.program:
            return False
        if not self.args:
            return len(words) == 1
        return re.fullmatch(self.args, " ".join(words[1:]), re.DOTALL) is not None

    def line(self) -> str:
        digest = f"sha256:{self.digest} " if self.digest else ""
        args = f"^{self.args}$" if self.args else '""'
        return f"{digest}{self.program} {args}"


def _helper(name: str, code: str, args: str, why: str) -> Rule:
    return Rule(helper_path(name, code), args, why, helper_digest(code))


def helpers() -> dict[str, str]:
    """Every shell helper a covered drill escalates, by name: its code, from the module that
    sends it (the package's scripts and the inline programs)."""
    from backup_drills.adapters import archives, borg, restic
    from backup_drills.restores import databases, scratch

    return {"hash-tree": (SCRIPTS / "hash-tree.sh").read_text(encoding="utf-8"),
            "sweep": (SCRIPTS / "sweep.sh").read_text(encoding="utf-8"),
            "env-password-file": (SCRIPTS / "env-password-file.sh").read_text(encoding="utf-8"),
            "free-bytes": scratch._FREE, "read-file": (SCRIPTS / "read-file.sh").read_text(encoding="utf-8"),
            "first-bytes": archives._FIRST_BYTES,
            "archive-unpack": (SCRIPTS / "archive-unpack.sh").read_text(encoding="utf-8"),
            "borg-in-dir": borg._IN_DIR, "borg-tagged": borg._TAGGED, "restic-into": restic._INTO,
            **{name: (SCRIPTS / f"{name}.sh").read_text(encoding="utf-8")
               for name in ("throwaway-user", "scratch-hand-over", "pg-start", "redis-load",
                            "scratch-root")},
            "manifest": databases.MANIFEST}


def _scratch(host: Host) -> tuple[str, str]:
    """Scratch's parent, and one scratch directory (``drill-<runner>-<pid>-<epoch>-<hex>``)."""
    parent = lit(host.scratch)
    return parent, f"{parent}/drill-[A-Za-z0-9_]+-{NUMBER}-{NUMBER}-[0-9a-f]+"


# folders others may write by convention (Debian's modes), sticky or not: a scratch root below
# one could be made first by another user (see open_scratch)
_STICKY = "every local user may write there (mode 1777, sticky)"
OPEN_FOLDERS = {**dict.fromkeys(("/tmp", "/var/tmp", "/usr/tmp", "/dev/shm", "/run/shm", "/dev/mqueue",
                                 "/run/lock", "/var/lock", "/var/crash"), _STICKY),
                **dict.fromkeys(("/run/user", "/home"), "it holds users' own folders"),
                "/var/local": "group staff may write there (mode 2775)",
                **dict.fromkeys(("/var/mail", "/var/spool/mail"), "group mail may write there (mode 2775)")}


def open_scratch(host: Host) -> None:
    """Refuse a scratch root the drilling user could make first: sudoers lets it restore into
    ``SCRATCH/drill-...`` as root at any time (restic ``--target``, rclone, ``hash-tree``), so a
    root below a folder others may write (``/var/tmp``, sticky or not) could hold its symlinks
    before any drill checks it. The drill checks every folder above the root on the host
    (``scratch-root.sh ... exact``); this names the usual ones before any file is written.

    >>> open_scratch(Host(name="h", transport="local://", scratch="/var/tmp/backup-drill"))
    Traceback (most recent call last):
    backup_drills.inventory.sudoers.NotCovered: host h: scratch /var/tmp/backup-drill lies in /var/tmp (...
    """
    root = PurePosixPath(posixpath.normpath(host.scratch))
    for folder, why in OPEN_FOLDERS.items():
        if PurePosixPath(folder) in (root, *root.parents):
            raise NotCovered(f"host {host.name}: scratch {host.scratch} lies in {folder} ({why}): "
                             "under `sudo: exact` the drilling user could make the root first and "
                             "plant symlinks where sudo lets it restore as root; expected a folder "
                             "under a root-only parent (every folder above it root's, not writable "
                             f"by group or others) such as {EXACT_SCRATCH} (the default with "
                             "sudo: exact)")


def host_rules(host: Host) -> list[Rule]:
    """What every drill of the host escalates: scratch's sweep and space; NotCovered for a
    scratch root another user could make first (``open_scratch``)."""
    open_scratch(host)
    parent, one = _scratch(host)
    code = helpers()
    return [
        Rule(PROGRAMS["find"], f"{parent} -mindepth 1 -maxdepth 1 -printf %f[^ ]0",
             "scratch left by killed runs"),
        _helper("sweep", code["sweep"], f"{parent} d rill-[A-Za-z0-9_]+-{NUMBER}-{NUMBER}-[0-9a-f]+"
                f"({lit(HOME)})?",
                "remove scratch a killed run left"),
        _helper("free-bytes", code["free-bytes"], parent, "free space in scratch"),
        _helper("scratch-root", code["scratch-root"],
                f"{parent} (drill-[A-Za-z0-9_]+-{NUMBER}-{NUMBER}-[0-9a-f]+|-) exact",
                "check the scratch root (root's, 0700 or stricter, not a symlink, no folder above "
                "it writable by others; made if missing) and make scratch in it, or check it "
                "before the sweep"),
        Rule(PROGRAMS["rm"], f"-rf --one-file-system -- {one} {one}{lit(HOME)}",
             "remove scratch (a run folder and the throwaway user's home beside it)"),
        Rule(PROGRAMS["du"], f"-sb {one}", "bytes restored so far (progress)"),
    ]


def _restic(job: Job, host: Host) -> list[Rule]:
    repo = lit(job.repository or "")
    _, one = _scratch(host)
    source = lit(job.source) if job.source else None
    samples = _samples(job)
    paths = alt(*samples) if samples else None
    rules = [
        ("--no-lock cat config", "the repository opens (the up-front probe)"),
        ("check( --read-data| --read-data-subset=[0-9]+/[0-9]+| --read-data-subset=[0-9.]+%)?",
         "restic check (takes restic's lock)"),
        (f"--no-lock snapshots --host {NAME}{f'( --path {source})?' if source else ''} --json", "snapshots"),
        ("--no-lock list locks", "locks"),
        (f"--no-lock cat lock {ID}", "a lock's owner"),
        (f"--no-lock stats --mode restore-size {ID} --json", "restore sizes"),
        (f"--no-lock diff {ID} {ID}", "what changed between snapshots"),
    ]
    if paths:
        rules += [(f"--no-lock find --snapshot {ID} --json -- {paths}", "a sample in a snapshot"),
                  (f"--no-lock ls --json --recursive -- {ID} {paths}",
                   "a sample's listing, its whole subtree")]
    into: list[Rule] = []
    if source:
        includes = f"( --include {paths})*" if paths else ""
        into.append(_helper("restic-into", helpers()["restic-into"],
                            f"{one} {repo} {ID}{includes}( --verify)?",
                            "restore into scratch (RUN/ID: one snapshot per run folder)"))
    if job.restore_rotation is not None and source:
        rules.append((f"--no-lock ls --json --recursive -- {ID} {source}",
                      "the latest snapshot's files (the restore rotation)"))
        into.append(_helper("restic-into", helpers()["restic-into"],
                            f"{one} {repo} {ID}( {chosen_includes(job.source or '')})+",
                            "the rotation's chosen files into scratch (RUN/ID)"))
    if job.retention is not None and source:
        policy = " ".join(lit(w) for w in job.retention.restic_words())
        rules.append((f"--no-lock forget --dry-run --json --host {NAME} --path {source} {policy}",
                      "restic's own retention, as a dry run"))
    return [*(Rule(PROGRAMS["restic"], f"-r {repo} {args}", why) for args, why in rules), *into]


# what follows the fixed part of a chosen file's word: no space before a dash, another space or
# the end of the words (the drill writes each such space as a pattern's ``?``), so no word can
# begin with a dash: every word that matches is a pattern of a file under the source, never an
# option (sudo matches the words joined by spaces, so the rule cannot see where one ends)
CHOSEN_TAIL = "([^ ]| [^ -])*"


def chosen_includes(source: str) -> str:
    """One ``--include=`` word of a file under ``source`` as the rotation restores it
    (``backup_drills.adapters.restic.include_word``), as an expression.

    >>> print(chosen_includes("/flux"))
    --include\\=/flux/([^ ]| [^ -])*
    """
    from backup_drills.adapters.restic import include_word

    return f"{lit(include_word(source.rstrip('/') + '/'))}{CHOSEN_TAIL}"


def _borg(job: Job, host: Host) -> list[Rule]:
    """borg's reads of the job's repository (the lock bypassed, as the drill reads it), its
    check and prune's dry run (which wait for the lock), and extract into scratch through the
    ``borg-in-dir`` helper (borg extracts into its working directory). No option that names a
    program (``--rsh``, ``--remote-path``) or another repository matches."""
    from backup_drills.adapters.borg import LOCK_WAIT
    from backup_drills.core.borg_patterns import CACHE_TAG_CONTENTS

    repo = lit(job.repository or "")
    _, one = _scratch(host)
    wait, archive = f"--lock-wait {LOCK_WAIT}", f"{repo}{lit('::')}{ARCHIVE}"
    rules = [
        (f"list --last 1 --short --bypass-lock {repo}", "the repository opens (the up-front probe)"),
        (f"list --json --bypass-lock {repo}", "archives"),
        (f"check {wait}( --verify-data)? {repo}", "borg check (takes borg's lock)"),
        (f"info --json --bypass-lock {archive}", "an archive's restore size"),
    ]
    if job.retention is not None:
        policy = " ".join(lit(w) for w in job.retention.borg_words())
        rules.append((f"prune --dry-run --list {wait} {policy} {repo}",
                      "borg prune's own retention, as a dry run (takes borg's lock)"))
    found = [Rule(PROGRAMS["borg"], args, why) for args, why in rules]
    code = helpers()
    found.append(_helper("borg-in-dir", code["borg-in-dir"],
                         f"{one} extract --bypass-lock {archive}",
                         "borg extract into scratch (in its working directory)"))
    if job.restore_rotation is not None and job.source:
        from backup_drills.adapters.borg import extract_word

        kept = str(job.source).strip("/") + "/"  # as borg keeps it, no leading slash
        # the fixed part of a chosen file's word: pp:SOURCE/, or sh:SOURCE/ for a loose space
        chosen = alt(lit(extract_word(f"{kept}x").removesuffix("x")),
                     lit(extract_word(f"{kept}x  ").removesuffix("x??")))
        found += [Rule(PROGRAMS["borg"], f"list --json-lines --bypass-lock {archive}",
                       "the archive's files (the restore rotation)"),
                  _helper("borg-in-dir", code["borg-in-dir"],
                          f"{one} extract --bypass-lock {archive}( {chosen}{CHOSEN_TAIL})+",
                          "the rotation's chosen files into scratch")]
    if job.source and (job.exclude_caches or job.exclude_if_present):
        from backup_drills.adapters.borg import _find_glob

        pairs = [w for tag in job.exclude_if_present for w in (_find_glob(tag.strip("/")), tag)]
        words = [str(job.source).rstrip("/") or "/", "yes" if job.exclude_caches else "no",
                 CACHE_TAG_CONTENTS.decode(), *pairs]
        found.append(_helper("borg-tagged", code["borg-tagged"], " ".join(lit(w) for w in words),
                             "the directories borg's tags exclude"))
    return found


# an rclone remote as the inventory names it: a configured remote's name (no on-the-fly
# ``:backend,option=...:`` string, whose options could name a program), then its path
_REMOTE = re.compile(r"[A-Za-z0-9_+@.]([A-Za-z0-9_+@. -]*[A-Za-z0-9_+@.-])?:[^:,]*")


def _rclone(job: Job, host: Host) -> list[Rule]:
    """rclone's reads of the job's mirror (``destination``, the samples in it) and source, its
    one-way check, and copies from the mirror into scratch only. The remote comes from the
    host's credentials_env (sudoers' env_file: ``RCLONE_CONFIG_<REMOTE>_...``) or root's own
    rclone.conf; no rule allows ``--config``, another remote, ``serve``, ``mount``, ``rcd``,
    ``--rc`` or any option that names a program."""
    dest, source = (job.destination or "").rstrip("/"), job.source or ""
    if not _REMOTE.fullmatch(dest) or not source:
        raise NotCovered(f"job {job.name}: destination {dest!r} is not REMOTE:PATH of a configured "
                         "remote (an on-the-fly :backend,option=...: remote cannot be pinned)")
    name, _, rest = dest.partition(":")
    bucket = f"{name}:{rest.strip('/').split('/')[0]}"
    _, one = _scratch(host)
    excludes = "".join(f" --exclude {lit(p)}" for p in job.excludes)
    files = [job.samples.file] if job.samples else []
    folders = [job.samples.directory] if job.samples else []
    mirror = lit(dest)
    rules = [
        (f"lsf --max-depth 1 --contimeout 10s --timeout {NUMBER}s --low-level-retries 1 --retries 1 "
         f"{alt(lit(bucket), mirror)}", "the mirror's bucket answers (the up-front probe)"),
        (f"lsf -R --files-only{excludes} {lit(source)}", "what rclone's filters keep of the source"),
        (f"size --json {alt(mirror, *(lit(f'{dest}/{p}') for p in files + folders))}",
         "the mirror's size (what a restore writes)"),
        (f"check --one-way {lit(source)} {mirror} --combined -( --min-age {NUMBER}s)?{excludes}",
         "rclone check --one-way, source against mirror"),
        (f"copy {mirror} {one}/\\.", "the whole mirror into scratch"),
    ]
    rules += [(f"copyto {lit(f'{dest}/{p}')} {one}/{lit(p)}", "a sample file into scratch") for p in files]
    rules += [(f"copy {lit(f'{dest}/{p}')} {one}/{lit(p)}", "a sample folder into scratch") for p in folders]
    found = [Rule(PROGRAMS["rclone"], args, why) for args, why in rules]
    return [*found, _hash_tree(job, f"{one} {NUMBER} yes", "hash what came back from the mirror")]


# a backup set's folder (a name its set_format parses: no space, no slash, not ``..``) and an
# archive's file name after ``COMPONENT.tar`` (``.gz.gpg``...): a name outside these is refused
# by sudo, so the drill could not run there, and is never read
SET = "[A-Za-z0-9][A-Za-z0-9_.+-]*"
SUFFIX = "[A-Za-z0-9_.-]*"


def _gpg_tar(job: Job, host: Host) -> list[Rule]:
    """The sets' listing in the archive root and every tier, the first byte of each archive
    (is it OpenPGP), and the ``archive-unpack`` helper (gpg with the job's pinned ``gnupghome``,
    then tar, each with fixed options: no ``--to-command``, ``--use-compress-program``, ``-I``,
    ``--checkpoint-action``, ``--exec-path`` or ``--load-extension`` can be passed) of one
    component's archive into scratch, and the hashing of each component's source and restore."""
    archives = job.archives
    if archives is None:
        raise NotCovered(f"job {job.name}: kind gpg-tar needs archives")
    if not archives.gnupghome:
        raise NotCovered(f"job {job.name}: archives.gnupghome is not set: `sudo: exact` runs gpg "
                         "with a pinned home only (set it to the folder that holds the recovery key)")
    _, one = _scratch(host)
    roots = [archives.root, *(tier.path for tier in archives.tiers)]
    names = alt(*(lit(c) for c in archives.components))
    archive = f"{alt(*map(lit, roots))}/{SET}/{names}\\.tar{SUFFIX}"
    code = helpers()
    rules = [Rule(PROGRAMS["find"], f"-H {lit(root)} -mindepth 2 -maxdepth 2 -type f -printf %s[^ ]t%P[^ ]0",
                  "the backup sets") for root in roots]
    rules += [_helper("first-bytes", code["first-bytes"], f"{archive}( {archive})*",
                      "each archive's first byte (is it encrypted)"),
              _helper("archive-unpack", code["archive-unpack"],
                      f"{lit(archives.root)}/{SET}/{names}\\.tar{SUFFIX} {one}/{names} (yes|no) {NUMBER} "
                      f"{lit(archives.gnupghome)}", "decrypt and unpack one archive into scratch, cut at "
                      "the room scratch has")]
    for name, component in archives.components.items():
        base = component.source.rstrip("/").rsplit("/", 1)[-1]
        roots_of = f"({lit(component.source)} {NUMBER} no|{one}/{lit(name)}/{lit(base)} {NUMBER} yes)"
        rules.append(_helper("hash-tree", code["hash-tree"], f"{roots_of} --HASHES-- \\.",
                             f"hash component {name}'s source and its restore"))
    return rules


def _dump(job: Job, host: Host) -> tuple[str, str, str]:
    """A restic-kept dump's ``(scratch, dump in scratch, the throwaway user's home)`` as
    expressions, the home beside the run folder (``-home``: never inside it, see
    ``scratch-hand-over.sh``); NotCovered for a dump the generator cannot pin yet."""
    dump = job.dump
    remote = dump is not None and dump.remote is not None
    if remote or job.destination is not None:
        where = "dump.remote" if remote else "a mirror"
        raise NotCovered(f"job {job.name}: a dump fetched from {where} "
                         "is not covered by `sudo: exact` yet (only one kept in a restic repository)")
    if dump is None or not dump.path or not job.repository:
        raise NotCovered(f"job {job.name}: `sudo: exact` covers a dump kept in a restic repository "
                         "(dump.path, repository) only")
    if dump.format == "plain":
        raise NotCovered(f"job {job.name}: a plain-format dump (scanned, then piped to psql) is not "
                         "covered by `sudo: exact` yet (only custom format)")
    _, one = _scratch(host)
    return one, f"{one}/{ID}{lit(dump.path)}", f"{one}{lit(HOME)}"


def sql(text: str) -> str:
    """A query as a regular expression of itself, a backslash in it (``E'\\n'``) matched by any
    one character but a quote (sudoers and ``re`` read a backslash differently)."""
    return "[^']".join(lit(part) for part in text.split("\\"))


# a quoted identifier of the restored database (databases.quote_table: ``"schema"."table"``),
# letters, digits and ``_`` only (visudo refuses a ``$`` in brackets): sudo matches the words
# joined by spaces, so a name with a space could be split by the caller into words of its own
# (``-o |command`` for psql). A table named otherwise is refused by sudo on an exact host:
# COULD NOT RUN, never a way in
IDENTIFIER = '"[A-Za-z0-9_]+"'


def _checksums() -> str:
    """The checks' one query over the restored tables: ``CHECKSUM`` per table, joined by
    ``UNION ALL``, each table a quoted identifier."""
    from backup_drills.restores.databases import CHECKSUM

    one = sql(CHECKSUM.format(index="INDEX", table="TABLE")).replace("INDEX", NUMBER).replace(
        "TABLE", f"{IDENTIFIER}\\.{IDENTIFIER}")
    return f"{one}( UNION ALL {one})*"


def _database(job: Job, host: Host, name: str) -> tuple[str, list[Rule]]:
    """The throwaway user's home (beside the run folder, an expression), and what every dump
    restored as a throwaway user needs: the job's repository read as a restic job's (the dump
    and its manifest restored into scratch), the throwaway user made and removed
    (``throwaway-user``: only ``drill-`` and ten hex digits), the dump handed to it as ``name``
    (``scratch-hand-over``). The scratch server is then started by the package's helper, and the
    programs that read the dump or the server run as that user by ``runuser``, each with fixed
    options (no ``pg_ctl -o``, no redis config file): whatever the dump makes them do, they do
    with the rights of an empty account."""
    one, dump, home = _dump(job, host)
    code = helpers()
    label = f"drill-[A-Za-z0-9_]+-{NUMBER}-{NUMBER}-[0-9a-f]+"
    rules = [*_restic(job, host),
             _helper("throwaway-user", code["throwaway-user"], f"add {THROWAWAY} {label}",
                     "make the throwaway user that reads the dump"),
             _helper("throwaway-user", code["throwaway-user"], f"remove {THROWAWAY}",
                     "remove the throwaway user and what still runs as it")]
    if job.dump is not None and job.dump.manifest:
        rules.append(_helper("manifest", code["manifest"], f"{one}/{ID}{lit(job.dump.manifest)}",
                             "the dump's manifest, restored into scratch"))
    rules.append(_helper("scratch-hand-over", code["scratch-hand-over"],
                         f"{one} {dump} {home} {lit(name)} {THROWAWAY}",
                         "hand the dump to the throwaway user"))
    return home, rules


def _redis(job: Job, host: Host) -> list[Rule]:
    """The RDB loaded by the ``redis-load`` helper into a redis-server the throwaway user runs
    (its options are the helper's text), stopped by ``redis-cli``; its log read on failure."""
    from backup_drills.restores.databases import LOAD_FAILED

    home, rules = _database(job, host, "dump.rdb")
    runuser, sock = PROGRAMS["runuser"], f"{home}/redis\\.sock"
    failed = ".".join(lit(part) for part in LOAD_FAILED.split("\\"))  # each backslash: any one character
    return [*rules,
            _helper("redis-load", helpers()["redis-load"], f"{home} {THROWAWAY} {failed}",
                    "a scratch redis-server, run by the throwaway user, loads the RDB"),
            Rule(runuser, f"{AS_THROWAWAY} /usr/bin/redis-cli -s {sock} shutdown nosave",
                 "stop the scratch redis-server"),
            Rule(runuser, f"{AS_THROWAWAY} /usr/bin/tail -n 3 {home}/server\\.log",
                 "why the RDB did not load (the scratch server's log)")]


def _postgres(job: Job, host: Host) -> list[Rule]:
    """The ``pg-start`` helper's cluster, run by the throwaway user; ``pg_restore`` of the dump,
    the checks' queries and ``pg_ctl stop`` as that user, each with its options pinned."""
    from backup_drills.restores.databases import ADMIN, PORT, RESTORER, USER_TABLES

    home, rules = _database(job, host, "dump")
    code, runuser = helpers(), PROGRAMS["runuser"]
    database = lit(str(job.dump.database if job.dump else ""))
    server = f"-h {home}/data -p {PORT} -U {RESTORER} -d {database}"
    smoke = job.dump.smoke_queries if job.dump else []
    queries = alt(sql(USER_TABLES), _checksums(), *map(sql, smoke))
    return [*rules,
            _helper("pg-start", code["pg-start"], f"{home} {THROWAWAY} {ADMIN} {RESTORER} {database} {PORT} ",
                    "a scratch PostgreSQL cluster, run by the throwaway user on a socket in scratch"),
            Rule(runuser, f"{AS_THROWAWAY} {PG_PROGRAMS}/pg_restore {server} --no-owner --no-privileges "
                          f"--exit-on-error {home}/dump", "pg_restore of the dump, as the throwaway user"),
            Rule(runuser, f"{AS_THROWAWAY} {PG_PROGRAMS}/psql {server} -X -At -F . -v ON_ERROR_STOP=1 "
                          f"-c {queries}", "the checks' queries (psql -c: no meta-command), as the "
                 "restore's plain role"),
            Rule(runuser, f"{AS_THROWAWAY} {PG_PROGRAMS}/pg_ctl -D {home}/data -m immediate stop",
                 "stop the scratch cluster")]


def _restore_test(job: Job, host: Host) -> list[Rule]:
    """The newest JSON result in the job's ``results`` folder (its markers are in ``_common``)."""
    if not job.results:
        return []
    return [_helper("read-file", helpers()["read-file"], f"-newest {lit(str(job.results).rstrip('/'))} {CAP}",
                    "the newest automated restore-test result (never through a link)")]


def _samples(job: Job) -> list[str]:
    """The paths a drill looks up and restores alone: the samples, a dump and its manifest."""
    found = [] if job.samples is None or not job.source else \
        [lit(f"{job.source}/{job.samples.file}"), lit(f"{job.source}/{job.samples.directory}")]
    if job.dump is not None and job.source:
        found += [lit(p) for p in (job.dump.path, job.dump.manifest) if p]
    return found


def _hash_tree(job: Job, roots: str, why: str) -> Rule:
    """The ``hash-tree`` helper over ``roots`` (an expression of the root, the batch size and
    whether it is a restored side: ``yes``, whose root hash-tree refuses unless it is its own
    real path, never ``no`` for a path in scratch), of the whole tree or the samples."""
    relative = [lit(f"./{p}") for p in (job.samples.file, job.samples.directory)] if job.samples else []
    subpaths = alt(r"\.", *relative)
    return _helper("hash-tree", helpers()["hash-tree"],
                   f"{roots} --HASHES-- {subpaths}( {subpaths})*", why)


def _trees(job: Job, host: Host) -> list[Rule]:
    """Hashing the source and the restored tree, the sample's size, the overlap check."""
    from backup_drills.restores.scratch import protected_paths

    _, one = _scratch(host)
    rules = [Rule(PROGRAMS["realpath"], f"-m -z -- {one}"
                  + "".join(f" {lit(p.path)}" for p in protected_paths(job)), "scratch overlaps nothing")]
    if not job.source:
        return rules
    source = lit(job.source)
    # the restored side (yes: its root must be its own real path, see hash-tree.sh; never no,
    # which would hash through a restored link to /root) lies in RUN/ID for restic and in RUN
    # for borg and rclone; the source side is hashed where it is
    restored = f"{one}(/{ID})?{source} {NUMBER} yes"
    rules.append(_hash_tree(job, f"({source} {NUMBER} (yes|no)|{restored})",
                            "hash the source and the restored tree"))
    if job.restore_rotation is not None:  # hash-tree itself refuses a path out of its root
        rules.append(_helper("hash-tree", helpers()["hash-tree"],
                             f"({source} {NUMBER} (yes|no)|{restored}) --HASHES-- \\..*",
                             "hash the rotation's chosen files in the source and the restore"))
    if job.samples is not None:
        rules.append(Rule(PROGRAMS["stat"], f"-c %s -- {lit(f'{job.source}/{job.samples.file}')}",
                          "the sample's size"))
    return rules


def _common(job: Job, host: Host) -> list[Rule]:
    """Markers, the service's journal or cron entry, the credentials file's mode, the host's name."""
    code = helpers()
    rules = [Rule(PROGRAMS["hostname"], "", "the host's name as restic records it")]
    if job.marker is not None:
        markers = [job.marker.path, *([job.marker.failure_path] if job.marker.failure_path else [])]
        rules.append(_helper("read-file", code["read-file"], f"{alt(*map(lit, markers))} {CAP}",
                             "status markers (never through a link)"))
    if job.schedule is not None and job.schedule.service:
        rules.append(Rule(PROGRAMS["journalctl"], f"-u {lit(job.schedule.service)} -o json --no-pager "
                          f"-n {NUMBER} --output-fields=JOB_RESULT{lit(',')}JOB_TYPE", "the service's runs"))
    if job.cron is not None:
        rules.append(Rule(PROGRAMS["cat"], f"-- {lit(job.cron.file)}", "the job's cron entry"))
    if job.metrics is not None and job.metrics.textfile:
        rules.append(_helper("read-file", code["read-file"], f"{lit(job.metrics.textfile)} {TEXTFILE_CAP}",
                             "the job's metrics textfile (never through a link)"))
    env = job.credentials_env or host.credentials_env
    if env:
        rules.append(Rule(PROGRAMS["stat"], f"-c %a %U {lit(env)}", "the credentials file's mode and owner"))
    if job.password_file:
        rules.append(Rule(PROGRAMS["stat"], f"-c %a %U {lit(job.password_file)}",
                          "the password file's mode and owner"))
    elif env and not job.password_command:
        rules.append(_helper("env-password-file", code["env-password-file"], lit(env),
                             "the password file the credentials file names: its path, mode and "
                             "owner, never a value"))
    return rules


def job_rules(job: Job, host: Host) -> list[Rule]:
    """Every command a read-only drill of ``job`` escalates on ``host``; NotCovered for a kind,
    or a part of a job, the generator cannot pin yet."""
    if job.kind not in COVERED:
        raise NotCovered(f"job {job.name}: kind {job.kind} is not covered by `sudo: exact` yet "
                         f"(covered: {', '.join(COVERED)}); drill it with sudo: true or as root")
    if job.writes == "allowed":
        raise NotCovered(f"job {job.name}: writes: allowed needs the write programs (canary, "
                         "backup, systemctl start), which `sudo: exact` does not allow yet")
    if host.credentials_from_env:
        raise NotCovered(f"host {host.name}: credentials_from_env cannot reach an exact sudo "
                         "(sudoers loads credentials_env with env_file)")
    return [*_TOOL_RULES[job.kind](job, host), *_trees(job, host), *_common(job, host)]


# each covered kind's tool rules (COVERED lists these kinds)
_TOOL_RULES = {"restic": _restic, "restic-check": _restic, "borg": _borg, "rclone-mirror": _rclone,
               "restore-test": _restore_test, "gpg-tar": _gpg_tar, "pg-dump": _postgres,
               "redis-rdb": _redis}


def rules_for(inventory: Inventory, host: str) -> list[Rule]:
    """The host's rules, each once, for all its jobs."""
    chosen = inventory.hosts[host]
    found, refused = [], []
    try:
        found = host_rules(chosen)
    except NotCovered as exc:  # named beside the jobs' refusals
        refused.append(str(exc))
    for job in inventory.jobs.values():
        if job.host == host:
            try:
                found += job_rules(job, chosen)
            except NotCovered as exc:
                refused.append(str(exc))
    if refused:
        raise NotCovered("; ".join(refused))
    return list(dict.fromkeys(found))


def sudoers_file(inventory: Inventory, host: str, user: str, source: str = "the inventory") -> str:
    """The sudoers file (for ``/etc/sudoers.d/``) of ``user`` on ``host``."""
    if not re.fullmatch(r"[a-z_][a-z0-9_-]*", user):
        raise NotCovered(f"--user {user!r}: expected a user name ([a-z_][a-z0-9_-]*)")
    rules = rules_for(inventory, host)
    chosen = inventory.hosts[host]
    jobs = sorted(job.name for job in inventory.jobs.values() if job.host == host)
    lines = [f"# backup-drills sudoers for {user} on {host} ({', '.join(jobs) or 'no jobs'}), from {source}",
             "# Generated: install as /etc/sudoers.d/backup-drills (mode 0440, check with visudo -cf),",
             "# the helpers it names under their paths (backup-drills sudoers --helpers DIR),",
             "# and set sudo: exact on the host in the inventory. Needs sudo 1.9.10 or later.",
             f"# BEFORE installing it, make the scratch root as root: mkdir -p -m 0700 {chosen.scratch}",
             "# (owned by root, and every folder above it root's, not writable by group or others).",
             "# The drill checks it on every run, sudo cannot: a root the drilling user made first",
             "# could hold symlinks where these rules let it restore as root."]
    if chosen.credentials_env:  # its content runs as root's environment: root's to keep safe
        for program in credential_programs(rules):
            lines.append(f"Defaults!{program} env_file={chosen.credentials_env}")
    if any(rule.program == PROGRAMS["borg"] for rule in rules):
        kept = " ".join(f"{name}={value}" for name, value in KEPT_ENV.items())
        lines.append(f'Defaults!{PROGRAMS["borg"]} env_keep+="{kept}"')
    for rule in rules:
        lines.append(f"# {rule.why}")
        lines.append(f"{user} ALL=(root) NOPASSWD: {rule.line()}")
    return "\n".join(lines) + "\n"


def credential_programs(rules: Iterable[Rule]) -> list[str]:
    """The programs of ``rules`` that read the host's credentials (sudoers loads its env file
    for each): restic, borg, the helper that runs borg in a directory, and rclone."""
    wanted = {PROGRAMS["restic"], PROGRAMS["borg"], PROGRAMS["rclone"],
              helper_path("borg-in-dir", helpers()["borg-in-dir"]),
              helper_path("restic-into", helpers()["restic-into"])}
    return list(dict.fromkeys(rule.program for rule in rules if rule.program in wanted))


def helper_files(inventory: Inventory, host: str) -> dict[str, str]:
    """The helpers the host's rules name: installed path -> file content."""
    from backup_drills.core.privilege import helper_text

    named = {helper_path(name, code): helper_text(code) for name, code in helpers().items()}
    return {rule.program: named[rule.program] for rule in rules_for(inventory, host) if rule.program in named}


def allowed(rules: Iterable[Rule], words: Sequence[str]) -> Rule | None:
    """The rule that allows ``words`` (program first), if any."""
    return next((rule for rule in rules if rule.matches(words)), None)


def rights_table(inventory: Inventory, host: str) -> str:
    """The host's rules as a Markdown table (docs/security.md shows the lab's motoko)."""
    rows = ["| program | arguments (a regular expression over the words, joined by spaces) | why |",
            "|---|---|---|"]
    for rule in rules_for(inventory, host):
        program = rule.program if rule.digest is None else f"{rule.program} (sha256 pinned)"
        args = f"`^{rule.args}$`".replace("|", "\\|") if rule.args else "none"
        rows.append(f"| `{program}` | {args} | {rule.why} |")
    return "\n".join(rows) + "\n"
