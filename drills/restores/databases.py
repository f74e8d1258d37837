"""Database drills: a dump restored from the job's latest snapshot into a scratch server on the
job's host, and checked against the manifest of the source at dump time.

Backup content is hostile: the dump is handed to a throwaway OS user (``throwaway.py``), which
runs the scratch server and every tool that reads the dump. PostgreSQL: a scratch cluster
(listening only on a socket inside scratch) whose database is owned by a plain role, the one the
restore connects as; a plain dump is scanned first and any psql meta-command refused, naming its
line; ``psql -X`` (in ``\\restrict`` mode where psql has it) or ``pg_restore --exit-on-error``,
then per table the row count and an md5 of its rows in a fixed order, smoke queries and expected
tables. Redis: a scratch ``redis-server`` on a socket inside scratch loads the RDB; key count and
``DEBUG DIGEST`` are compared.

    >>> restored = PostgresDrill(remote, job).restore()        # doctest: +SKIP
    >>> restored.tables["app.orders"]                          # doctest: +SKIP
    TableState(rows=6000, checksum='6f18b5819e62fc7d6b307bdf4d549ee3')
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from backup_drills.adapters.object_dumps import newest_dump
from backup_drills.adapters.rclone import Rclone
from backup_drills.adapters.readings import latest_snapshot
from backup_drills.adapters.tool import BackupTool, FindsPaths, RestoreFailed, capable, tool_for
from backup_drills.core.observe import before_acting
from backup_drills.core.transport import DrillCouldNotRun, Remote, argv, declared, script
from backup_drills.inventory.schema import Dump, Job
from backup_drills.restores.scratch import ensure_space, home_of, scratch_dir
from backup_drills.restores.sqlsafety import psql_has_restrict, shown
from backup_drills.restores.throwaway import as_user, hand_over, throwaway_user

# a loaded database takes more room than its compressed dump: refuse unless this much is free
EXPANSION = 5
PG_BIN = "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
PG_BIN_FOLDER = re.compile(r"/usr/lib/postgresql/[0-9]+/bin")  # PG_BIN on a Debian host
CHECKSUM = ("SELECT {index}, count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text "
            "COLLATE \"C\"), '')) FROM {table} AS t")
USER_TABLES = ("SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname NOT IN "
               "('pg_catalog', 'information_schema') ORDER BY 1")
FALSE_VALUES = {"", "f", "false", "0"}
# a manifest as restored: a regular file, not a link a hostile backup placed (to a secret, or a
# FIFO that hangs), its first MiB
MANIFEST = '[ -f "$1" ] && [ ! -L "$1" ] && exec head -c 1048576 -- "$1"'
LOAD_FAILED = r"Unrecoverable\|Bad file format\|Wrong signature\|Short read\|Fatal"  # redis log


@dataclass(frozen=True)
class TableState:
    rows: int
    checksum: str  # PostgreSQL: md5 of the rows in order; ClickHouse: sum(cityHash64(columns))


@dataclass(frozen=True)
class SmokeResult:
    query: str
    ok: bool
    output: str


@dataclass
class DatabaseRestore:
    """What a dump restore gave back, beside what the source held at dump time."""

    job: Job
    host: str
    what: str
    origin: str  # "snapshot 1a2b3c4d", or the object a dump came from
    made_at: datetime
    restore_seconds: float
    drill_seconds: float
    command: str
    expected: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, TableState] = field(default_factory=dict)
    smoke: list[SmokeResult] = field(default_factory=list)
    keys: int | None = None
    digest: str | None = None
    canary: str | None = None
    canary_rows: int | None = None

    def evidence(self) -> dict[str, object]:
        """Flat, as a whole-tree restore's: a dump restore is the job's whole restore. The
        restore time runs until the data is loaded in the scratch server."""
        return {
            "what": self.what, "origin": self.origin, "made_at": self.made_at.isoformat(),
            "restore_seconds": round(self.restore_seconds, 3),
            "drill_seconds": round(self.drill_seconds, 3), "command": self.command,
            "tables": {name: vars(state) for name, state in self.tables.items()},
            "keys": self.keys, "digest": self.digest,
            "rto_seconds": self.job.rto.total_seconds() if self.job.rto else None}


def psql_with_values(program: str, args: tuple[str, ...], query: str, values: dict[str, str]) -> str:
    """A psql command that reads ``query`` from stdin (where psql interpolates ``:'name'``,
    quoting the value), each value passed as ``-v name=value``: never part of the SQL text.
    ``program`` is the suite's own shell word for psql (``$(...)/psql``), ``args`` are quoted.

    >>> print(psql_with_values("psql", ("-X",), "SELECT :'t'", {"t": "it's"}))
    psql -X -v 't=it'"'"'s' <<'SQL'
    SELECT :'t'
    SQL
    """
    if "\nSQL\n" in f"\n{query}\n":
        raise ValueError("a query may not hold a line 'SQL' (the here-document's end)")
    variables = [word for name, value in values.items() for word in ("-v", f"{name}={value}")]
    return f"{program} {argv(*args, *variables)} <<'SQL'\n{query}\nSQL"


def quote_table(name: str) -> str:
    """``app.orders`` as a quoted identifier: ``quote_table('app.orders') == '"app"."orders"'``."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in name.split(".", 1))


def _dump(job: Job) -> Dump:
    return declared(job, job.dump, "dump")


@dataclass(frozen=True)
class Fetched:
    """A dump brought into scratch: where, how, its manifest, where from and when made."""

    path: str
    command: str
    manifest: dict[str, Any]
    origin: str
    made_at: datetime


class DumpDrill:
    """What every database drill shares: bring the job's dump (and manifest) into scratch, from
    its latest snapshot, its mirror or the newest object of a tier (``PostgresDrill``,
    ``RedisDrill``, ``backup_drills.restores.clickhouse.ClickHouseDrill`` load it into their
    scratch servers)."""

    # the user that reads the dump and runs the scratch server (a test may give one that exists)
    throwaway: Callable[[Remote, Job], AbstractContextManager[str]] = staticmethod(throwaway_user)

    def __init__(self, remote: Remote, job: Job) -> None:
        self.remote, self.job, self.dump = remote, job, _dump(job)

    @cached_property
    def tool(self) -> BackupTool:
        """The job's repository (dumps inside its source come back from its snapshots)."""
        return tool_for(self.remote, self.job)

    def _who(self) -> str:
        return f"host {self.remote.name}, job {self.job.name}"

    def _fetch(self, target: str, tier: str | None = None, as_found: bool = True) -> Fetched:
        """Bring the dump (and its manifest) into ``target``: from the job's latest snapshot
        (as the drill found it, or the newest after an on-demand backup), or the newest object
        of one tier of the dump remote."""
        if self.dump.remote is not None:
            return self._fetch_object(target, tier or next(iter(self.dump.tiers)))
        if self.job.destination is not None:
            return self._fetch_mirrored(target)
        snapshot = latest_snapshot(self.remote, self.job) if as_found else \
            next(reversed(self.tool.snapshots()), None)
        if snapshot is None:
            raise RestoreFailed(f"{self._who()}: no snapshot of {self.job.source} in "
                                f"{self.job.repository}")
        path = str(self.dump.path)
        finder: FindsPaths = capable(self.tool, FindsPaths, "cannot list one path of a snapshot")
        listed = finder.ls(snapshot, path)
        if path not in listed:
            raise RestoreFailed(f"{self._who()}: snapshot {snapshot.short_id} holds no {path}")
        ensure_space(self.remote, self.job, listed[path] * EXPANSION)
        wanted = tuple(p for p in (path, self.dump.manifest) if p)
        result = self.tool.restore(snapshot, target, wanted)
        origin = f"snapshot {snapshot.short_id}"
        return Fetched(result.target + path, result.command, self._manifest(result.target, origin),
                       origin, snapshot.time)

    def _manifest(self, target: str, origin: str) -> dict[str, Any]:
        if not self.dump.manifest:
            return {}
        read = self.remote.run(argv("sh", "-c", MANIFEST, "manifest", target + self.dump.manifest))
        try:
            manifest = json.loads(read.text) if read.ok else {}
        except ValueError:
            manifest = {}
        if not isinstance(manifest, dict) or not manifest:
            raise RestoreFailed(f"{self._who()}: manifest {self.dump.manifest} of {origin} is "
                                "missing or not JSON")
        return manifest

    def _fetch_mirrored(self, target: str) -> Fetched:
        """The dump and its manifest as the job's mirror holds them (PHC: the Nextcloud dumps
        in /space travel with the rclone mirror), copied to the same paths under ``target``."""
        mirror = Rclone(self.remote, self.job)
        source = str(self.job.source).rstrip("/")
        dump = str(self.dump.path).removeprefix(source + "/")
        ensure_space(self.remote, self.job, mirror.size(dump) * EXPANSION)
        commands = []
        for path in (p for p in (str(self.dump.path), self.dump.manifest) if p):
            relative = path.removeprefix(source + "/")  # where the mirror holds it
            commands.append(mirror.copy(relative, target + path, is_file=True).command)
        origin = f"mirror {self.job.destination}"
        manifest = self._manifest(target, origin)
        made = manifest.get("dumped_at")
        return Fetched(target + str(self.dump.path), "; ".join(commands), manifest, origin,
                       datetime.fromisoformat(made) if isinstance(made, str) else datetime.now(UTC))

    def _fetch_object(self, target: str, tier: str) -> Fetched:
        newest = newest_dump(self.remote, self.job, tier)
        if newest is None:
            raise RestoreFailed(f"{self._who()}: no dump in {self.dump.remote}/{tier}")
        ensure_space(self.remote, self.job, newest.size * EXPANSION)
        local = f"{target}/{newest.name}"
        words = ["rclone", "copyto", newest.url, local]
        copied = self.remote.run(self.remote.with_credentials(words, self.job), timeout=4 * 3600)
        if not copied.ok:
            raise RestoreFailed(f"{self._who()}: `rclone copyto {newest.url}` exited "
                                f"{copied.exit_status}: {copied.tail(3)}")
        return Fetched(local, argv(*words), {}, newest.url, newest.time)


PORT = 54329  # only the socket file's name: the scratch server listens on no TCP address
ADMIN = "drill_admin"  # the scratch cluster's superuser: sets it up, never restores
RESTORER = "drill_restore"  # a plain role that owns the scratch database; restores and checks
PSQL_LINE = re.compile(r"^psql:<stdin>:(\d+): ((?:ERROR|FATAL|error):.*)$", re.MULTILINE)


@dataclass(frozen=True)
class ScratchCluster:
    """A running scratch PostgreSQL: its socket folder, the throwaway user that runs it and
    every tool that reads the dump, and whether the host's psql has ``\\restrict``."""

    socket_dir: str
    user: str
    restrict: bool
    bin: str = PG_BIN  # the folder of the host's newest PostgreSQL programs (as shell text)


class PostgresDrill(DumpDrill):
    """A dump restored by a throwaway OS user into a cluster it runs, connected as a plain role
    (``RESTORER``): a ``COPY ... TO PROGRAM`` in the dump is refused by the server, and nothing
    the dump holds runs with more rights than that empty account. A plain dump is scanned first
    (``scripts/pg-dump-scan.sh``): a psql meta-command or a COPY other than ``FROM stdin`` is
    refused, naming its line, before anything of it runs; psql then reads it in its restricted
    mode (``\\restrict``) where it has one."""

    SERVER = "PostgreSQL"

    def restore(self, canary: str | None = None, tier: str | None = None) -> DatabaseRestore:
        """Restore the latest dump (of ``tier``, for a dump remote) into a scratch PostgreSQL and
        measure it; with ``canary``, also count that token in the dump's ``canary_table``."""
        database = str(self.dump.database)
        started = time.monotonic()
        with scratch_dir(self.remote, self.job) as target, \
                self.throwaway(self.remote, self.job) as user:
            fetched = self._fetch(target, tier, as_found=canary is None)
            what = f"{self.dump.path} ({fetched.origin})" if self.dump.path else fetched.origin
            home = home_of(target)
            dump = hand_over(self.remote, self._who(), target, fetched.path, "dump", user)
            plain = self.dump.format == "plain"
            roles = self._scan(user, dump, what) if plain else []
            with self._scratch_server(home, user, database, roles) as cluster:
                restore = self.remote.run(self.load_command(cluster, database, dump),
                                          timeout=4 * 3600)
                tool = "psql -f" if plain else "pg_restore"
                if not restore.ok:
                    raise RestoreFailed(f"{self._who()}: {tool} of {what} failed"
                                        f"{self._failed_line(user, dump, restore.stderr)}"
                                        f"{restore.tail(4)}")
                outcome = DatabaseRestore(
                    self.job, self.remote.name, f"database {database}", fetched.origin,
                    fetched.made_at, time.monotonic() - started, 0.0,
                    f"{fetched.command} && {tool} -d {database} {fetched.path.removeprefix(target)}",
                    expected=fetched.manifest.get("tables") or {})
                outcome.tables = self._tables(cluster, database, outcome.expected)
                outcome.smoke = [SmokeResult(q, ok and out.split("\t")[0].lower() not in FALSE_VALUES,
                                             out) for q in self.dump.smoke_queries
                                 for ok, out in [self._sql(cluster, database, q)]]
                if canary is not None and self.dump.canary_table:
                    ok, out = self._sql(cluster, database,
                                        f"SELECT count(*) FROM {quote_table(self.dump.canary_table)} "
                                        "WHERE token = :'token'", token=canary)
                    outcome.canary, outcome.canary_rows = canary, int(out) if ok and out.isdigit() else 0
        outcome.drill_seconds = time.monotonic() - started
        return outcome

    def load_command(self, cluster: ScratchCluster, database: str, dump: str) -> str:
        """The restore of ``dump`` as the throwaway user, connected as ``RESTORER``: a plain
        dump through psql (``-X``, stopping at the first error, in restricted mode where psql
        has it, pg_dump's own \\restrict lines blanked), else pg_restore."""
        server = ("-h", cluster.socket_dir, "-p", str(PORT), "-U", RESTORER, "-d", database)
        if self.dump.format != "plain":
            return as_user(cluster.user, f"{cluster.bin}/pg_restore {argv(*server)} --no-owner "
                                         f"--no-privileges --exit-on-error {argv(dump)} >/dev/null")
        restricted = ("-c", f"\\restrict {secrets.token_hex(16)}") if cluster.restrict else ()
        psql = f"{PG_BIN}/psql {argv(*server, '-X', '-q', '-v', 'ON_ERROR_STOP=1', *restricted, '-f', '-')}"
        return (f"{as_user(cluster.user, script('pg-dump-scan', 'filter', dump))} 2>/dev/null | "
                f"{as_user(cluster.user, psql)} >/dev/null")

    def _scan(self, user: str, dump: str, what: str) -> list[str]:
        """Scan a plain dump as the throwaway user; refuse it naming each hostile line (nothing
        of it has run); return the roles it gives objects or rights to."""
        scanned = self.remote.run(as_user(user, script("pg-dump-scan", "scan", dump)), timeout=4 * 3600)
        lines = scanned.text.splitlines()
        refused = [line.split("\t", 3) for line in lines if line.startswith("refused\t")]
        if refused:
            named = "; ".join(f"line {number}: `{shown(text)}` ({why})"
                              for _, number, why, text in (r + [""] * (4 - len(r)) for r in refused))
            raise RestoreFailed(f"{self._who()}: refusing the dump {what}: it holds what psql would "
                                f"run itself, not SQL for the server (nothing of it ran): {named}")
        if not scanned.ok:
            raise DrillCouldNotRun(f"{self._who()}: scanning the dump {what} failed: {scanned.tail(3)}")
        return [line.split("\t", 1)[1] for line in lines if line.startswith("role\t")]

    def _failed_line(self, user: str, dump: str, stderr: str) -> str:
        """`` at line N: `<the line>`: <psql's error>; `` for the dump line psql stopped at, or
        ``: ``."""
        found = PSQL_LINE.search(stderr)
        if found is None:
            return ": "
        number = int(found[1])
        line = self.remote.run(as_user(user, argv("sed", "-n", f"{number}{{p;q;}}", dump)) +
                               " | head -c 1000", timeout=600)
        return f" at line {number}: `{shown(line.text)}`: {found[2].strip()}; "

    def _sql(self, cluster: ScratchCluster, database: str, query: str, **values: str) -> tuple[bool, str]:
        """One query against the scratch server, as ``RESTORER``; ``values`` travel as psql
        variables (``:'name'`` in the query, quoted by psql), never as SQL text."""
        args = ("-h", cluster.socket_dir, "-p", str(PORT), "-U", RESTORER, "-d", database, "-X", "-At",
                "-F", "\t", "-v", "ON_ERROR_STOP=1")
        if self.remote.host.sudo == "exact" and not values:  # the query pinned by sudoers with
            # its psql: -c hands the server the text as it is (no meta-command, no variable)
            command = as_user(cluster.user, argv(f"{cluster.bin}/psql", *args, "-c", query))
        else:
            command = psql_with_values(as_user(cluster.user, f"{cluster.bin}/psql"), args, query, values)
        run = self.remote.run(command, timeout=600)
        return run.ok, (run.text if run.ok else run.tail(3)).strip()

    def _tables(self, cluster: ScratchCluster, database: str,
                expected: dict[str, Any]) -> dict[str, TableState]:
        ok, listing = self._sql(cluster, database, USER_TABLES)
        if not ok:
            raise DrillCouldNotRun(f"{self._who()}: listing the restored tables failed: {listing}")
        present = listing.splitlines()
        wanted = [name for name in present if name in expected or not expected]
        if not wanted:
            return {}
        query = " UNION ALL ".join(CHECKSUM.format(index=i, table=quote_table(name))
                                   for i, name in enumerate(wanted))
        ok, rows = self._sql(cluster, database, query)
        if not ok:
            raise DrillCouldNotRun(f"{self._who()}: checksumming the restored tables failed: {rows}")
        states = {}
        for line in rows.splitlines():
            index, count, digest = line.split("\t")
            states[wanted[int(index)]] = TableState(int(count), digest)
        return {name: states.get(name, TableState(0, "")) for name in present}

    @contextmanager
    def _scratch_server(self, home: str, user: str, database: str,
                        roles: list[str]) -> Iterator[ScratchCluster]:
        """A throwaway cluster in ``home/data``, run by the throwaway ``user`` (``scripts/pg-start.sh``),
        with ``database`` owned by ``RESTORER``; stopped whatever happens (scratch removal
        takes its files, the user's removal anything left running)."""
        programs = self._pg_bin()
        started = self.remote.run(script("pg-start", home, user, ADMIN, RESTORER, database,
                                         str(PORT), "\n".join(roles)), timeout=180)
        try:
            if not started.ok:
                raise DrillCouldNotRun(f"{self._who()}: scratch PostgreSQL did not start in {home}: "
                                       f"{started.tail(4)}")
            yield ScratchCluster(f"{home}/data", user, psql_has_restrict(started.text), programs)
        finally:
            stop = argv("-D", f"{home}/data", "-m", "immediate", "stop")
            self.remote.run(as_user(user, f"{programs}/pg_ctl {stop}"), timeout=60)

    def _pg_bin(self) -> str:
        """``PG_BIN``; on a ``sudo: exact`` host the folder it names, read without privilege
        (sudoers pins each program by its path, not a shell expression)."""
        if self.remote.host.sudo != "exact":
            return PG_BIN
        found = self.remote.run("printf '%s\\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1",
                                timeout=30, privileged=False).text.strip()
        if not PG_BIN_FOLDER.fullmatch(found):
            raise DrillCouldNotRun(f"{self._who()}: no PostgreSQL programs in /usr/lib/postgresql "
                                   f"(found {found[:80]!r})")
        return found

    def plant_canary(self) -> str:
        """Insert a unique token into the source's ``canary_table``; return it."""
        table = declared(self.job, self.dump.canary_table, "dump.canary_table")
        before_acting(self.remote, self.job)
        token = f"drill-{secrets.token_hex(8)}"
        self._source_sql(f"INSERT INTO {quote_table(table)} (token) VALUES (:'token')", token=token)
        return token

    def remove_canary(self, token: str) -> None:
        if self.dump.canary_table:
            self._source_sql(f"DELETE FROM {quote_table(self.dump.canary_table)} "
                             "WHERE token = :'token'", token=token)

    def _source_sql(self, query: str, **values: str) -> None:
        args = ("-u", self.dump.os_user, "--", "psql", "-X", "-q", "-d", str(self.dump.database),
                "-v", "ON_ERROR_STOP=1")
        self.remote.run(psql_with_values("runuser", args, query, values), check=True)


class RedisDrill(DumpDrill):
    def restore(self) -> DatabaseRestore:
        """Load the latest RDB into a scratch redis-server run by a throwaway user; count its
        keys, take its digest."""
        started = time.monotonic()
        with scratch_dir(self.remote, self.job) as target, \
                self.throwaway(self.remote, self.job) as user:
            fetched = self._fetch(target)
            home = home_of(target)
            hand_over(self.remote, self._who(), target, fetched.path, "dump.rdb", user)
            loaded = self.remote.run(script("redis-load", home, user, LOAD_FAILED), timeout=600)
            loaded_at = time.monotonic()
            exact = self.remote.host.sudo == "exact"  # one program per sudo, by its path
            shutdown = as_user(user, argv("/usr/bin/redis-cli" if exact else "redis-cli", "-s",
                                          f"{home}/redis.sock", "shutdown", "nosave"))
            self.remote.run(shutdown if exact else f"{shutdown}; sleep 0.2", timeout=30)
            if exact:
                time.sleep(0.2)
            if not loaded.ok:
                tail = ("-n", "3", f"{home}/server.log")
                log = self.remote.run(as_user(user, argv("/usr/bin/tail", *tail)) if exact
                                      else argv("tail", *tail)).text.strip()
                raise RestoreFailed(f"{self._who()}: the RDB {self.dump.path} of {fetched.origin} "
                                    f"did not load into a scratch redis-server: "
                                    f"{log or loaded.tail(3)}")
        keys, digest = loaded.text.split()[:2]
        outcome = DatabaseRestore(self.job, self.remote.name, f"redis {self.dump.path}",
                                  fetched.origin, fetched.made_at, loaded_at - started,
                                  time.monotonic() - started,
                                  f"{fetched.command} && redis-server --dbfilename dump.rdb",
                                  expected=fetched.manifest, keys=int(keys), digest=digest)
        return outcome
