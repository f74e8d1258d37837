"""ClickHouse backups (254Carbon's ``clickhouse-backup``) restored into a scratch ClickHouse server
on the job's host, never into the live one.

The newest backup of a tier is fetched from the dump remote into scratch and unpacked
(clickhouse-backup's layout: ``metadata/<db>/<table>.sql``, ``shadow/<db>/<table>/<part>/``,
``manifest.json``). A throwaway ``clickhouse-server`` starts with its data in scratch, listening
on 127.0.0.1 only. Each table is created from its metadata and its frozen parts are attached
(``ALTER TABLE ... ATTACH PART``). Then each table's row count and ``sum(cityHash64(columns))``
are read back, to compare with the manifest written at backup time, and the smoke queries run.

    >>> restored = ClickHouseDrill(remote, job).restore(tier="daily")   # doctest: +SKIP
    >>> restored.tables["analytics.ticks"].rows                          # doctest: +SKIP
    18000
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from backup_drills.adapters.restic import RestoreFailed
from backup_drills.core.transport import DrillCouldNotRun, argv, script
from backup_drills.restores.databases import FALSE_VALUES, DatabaseRestore, DumpDrill, SmokeResult, TableState
from backup_drills.restores.scratch import home_of, scratch_dir
from backup_drills.restores.sqlsafety import is_identifier, is_part_name, metadata_problems, shown
from backup_drills.restores.throwaway import as_user, hand_over

PORT = 19000  # the scratch server's first native port to try, on 127.0.0.1 only (no HTTP port)
METADATA_LIMIT = 1 << 20  # bytes of one table's metadata SQL the drill reads
SERVER_LIMIT = 4 * 3600  # the scratch server dies with this even if the drill is killed
CONFIG = """<yandex>
  <logger><level>warning</level><log>{home}/server.log</log>
    <errorlog>{home}/server.err.log</errorlog><console>0</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>@PORT@</tcp_port>
  <path>{home}/data/</path>
  <tmp_path>{home}/tmp/</tmp_path>
  <user_files_path>{home}/user_files/</user_files_path>
  <format_schema_path>{home}/format_schemas/</format_schema_path>
  <access_control_path>{home}/access/</access_control_path>
  <users_config>{home}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <timezone>UTC</timezone>
</yandex>
"""
# The server's one user has a password made on the host for this drill (in shell variable $pw,
# never in an argument): restored production data is not open to the host's other users.
USERS = ("<yandex><profiles><default/></profiles><quotas><default/></quotas>"
         "<users><default><password>%s</password><networks><ip>127.0.0.1</ip></networks>"
         "<profile>default</profile><quota>default</quota></default></users></yandex>")
CLIENT_CONFIG = "<config><user>default</user><password>%s</password></config>"


@dataclass(frozen=True)
class ScratchServer:
    """A running scratch ClickHouse: its home, the throwaway user that runs it (and every
    client of it), and the client config holding its password."""

    home: str
    user: str
    client_config: str
    port: int = PORT

    def client(self, *words: str) -> str:
        """clickhouse-client of this server, as its user: ``server.client("-q", "SELECT 1")``."""
        return as_user(self.user, argv("clickhouse-client", f"--config-file={self.client_config}",
                                       "--host", "127.0.0.1", "--port", str(self.port), *words))


class ClickHouseDrill(DumpDrill):
    """A backup restored by a throwaway OS user into a clickhouse-server it runs. Before anything
    of it reaches SQL, every table and part name is checked against ClickHouse's grammar and
    every metadata file must be one ATTACH/CREATE TABLE of its table (``sqlsafety``); a symlink
    anywhere in it is refused."""

    SERVER = "ClickHouse"

    def restore(self, tier: str | None = None) -> DatabaseRestore:
        """Restore the newest backup of ``tier`` into a scratch ClickHouse server and measure
        it: the restore time runs until the last part is attached."""
        database = str(self.dump.database)
        started = time.monotonic()
        with scratch_dir(self.remote, self.job) as target, \
                self.throwaway(self.remote, self.job) as user:
            fetched = self._fetch(target, tier)
            backup = self._unpack(target, fetched.path, user, fetched.origin)
            manifest = self._checked(backup, database, user, fetched.origin)
            with self._scratch_server(target, user) as server:
                attached = self.remote.run(self.attach_command(server, backup, database),
                                           timeout=4 * 3600)
                if not attached.ok:
                    raise RestoreFailed(f"{self._who()}: attaching the parts of {fetched.origin} "
                                        f"to a scratch ClickHouse failed: {attached.tail(3)}")
                outcome = DatabaseRestore(
                    self.job, self.remote.name, f"clickhouse database {database}",
                    fetched.origin, fetched.made_at, time.monotonic() - started, 0.0,
                    f"{fetched.command} && tar -xf && clickhouse-client "
                    f"\"ALTER TABLE `{database}`.`<table>` ATTACH PART '<part>'\"",
                    expected=manifest.get("tables") or {})
                outcome.tables = self._tables(server, database, fetched.origin)
                outcome.smoke = [SmokeResult(q, ok and out.split("\t")[0].lower() not in FALSE_VALUES,
                                             out) for q in self.dump.smoke_queries
                                 for ok, out in [self._query(server, q)]]
        outcome.drill_seconds = time.monotonic() - started
        return outcome

    def _unpack(self, target: str, path: str, user: str, origin: str) -> str:
        """The backup handed to the throwaway user and unpacked by it (a tar member cannot be
        written outside, or owned by anyone else); its folder."""
        home = home_of(target)
        tar = hand_over(self.remote, self._who(), target, path, "backup.tar", user)
        backup = f"{home}/backup"
        unpacked = self.remote.run(as_user(user, argv("sh", "-c", 'mkdir -m 0700 "$1" && '
                                                      'tar -C "$1" --no-same-owner -xf "$2"',
                                                      "unpack", backup, tar)), timeout=3600)
        if not unpacked.ok:
            raise RestoreFailed(f"{self._who()}: the backup {origin} did not unpack: "
                                f"{unpacked.tail(3)}")
        return backup

    def listing(self, backup: str, user: str) -> tuple[list[tuple[str, str]], list[str]]:
        """The backup's entries to the depth of parts, as (type, path) (``d``, ``f``, ``l``...),
        and its symlinks at any depth (at most 4 KiB of them), read as the throwaway user."""
        read = self.remote.run(as_user(user, argv(
            "sh", "-c", 'cd "$1" && find . -mindepth 1 -maxdepth 4 -printf "%y %P\\0" && '
            'printf "\\0" && find . -type l -printf "%P\\0" | head -c 4096', "listing", backup)),
            timeout=600)
        if not read.ok:
            raise DrillCouldNotRun(f"{self._who()}: listing the unpacked backup failed: {read.tail(3)}")
        text = read.stdout.decode("utf-8", errors="surrogateescape")
        entries, _, links = text.partition("\0\0")
        listed = [(entry[:1], entry[2:]) for entry in entries.split("\0") if entry]
        return listed, [link for link in links.split("\0") if link]

    def _checked(self, backup: str, database: str, user: str, origin: str) -> dict[str, Any]:
        """Refuse, naming each, every name and metadata file of the backup that is not what a
        clickhouse-backup of ``database`` holds, before any of it reaches a server; return
        its manifest."""
        listed, links = self.listing(backup, user)
        problems = [f"{shown(link)}: a symlink" for link in links]
        meta, shadow = f"metadata/{database}/", f"shadow/{database}/"
        tables = []
        for kind, path in listed:
            if path.startswith(meta) and path.endswith(".sql"):
                table = path.removeprefix(meta).removesuffix(".sql")
                if kind != "f" or not is_identifier(table):
                    problems.append(f"{shown(path)}: not a table's metadata file (a file named "
                                    "after an identifier)")
                else:
                    tables.append(table)
        for kind, path in listed:
            table, _, part = path.removeprefix(shadow).partition("/")
            if path.startswith(shadow) and table in tables and part and \
                    (kind != "d" or not is_part_name(part)):
                problems.append(f"{shown(path)}: not a part name (partition_min_max_level)")
        for table in tables:
            read = self.remote.run(as_user(user, argv("head", "-c", str(METADATA_LIMIT + 1),
                                                      f"{backup}/{meta}{table}.sql")), timeout=60)
            if len(read.stdout) > METADATA_LIMIT:
                problems.append(f"{meta}{table}.sql: larger than {METADATA_LIMIT} bytes")
                continue
            text = read.stdout.decode("utf-8", errors="replace")
            problems += [f"{meta}{table}.sql: {p}" for p in metadata_problems(text, database, table)]
        if problems:
            raise RestoreFailed(f"{self._who()}: refusing the backup {origin} (nothing of it ran): "
                                + "; ".join(problems[:10]))
        read = self.remote.run(as_user(user, argv("head", "-c", str(METADATA_LIMIT),
                                                  f"{backup}/manifest.json")), timeout=60)
        try:
            manifest = json.loads(read.text) if read.ok else None
        except ValueError:
            manifest = None
        if not isinstance(manifest, dict):
            raise RestoreFailed(f"{self._who()}: manifest.json of {origin} is missing or not JSON")
        return manifest

    def attach_command(self, server: ScratchServer, backup: str, database: str) -> str:
        """Create the database and each table from its metadata, copy its frozen parts into
        the table's ``detached/`` and attach them one by one, as the throwaway user
        (``scripts/clickhouse-attach.sh``)."""
        return as_user(server.user, script("clickhouse-attach", server.client_config, str(server.port),
                                           backup, server.home, database))

    def _tables(self, server: ScratchServer, database: str, origin: str) -> dict[str, TableState]:
        """Rows and checksum of each restored table; a table that cannot be read back (a
        corrupt part: ClickHouse checks its blocks as it reads) fails the restore."""
        listed = self.remote.run(as_user(server.user, script(
            "clickhouse-checksums", server.client_config, str(server.port), database)), timeout=3600)
        if not listed.ok:
            raise RestoreFailed(f"{self._who()}: reading back the tables restored from {origin} "
                                f"failed: {listed.tail(3)}")
        states = {}
        for line in listed.text.splitlines():
            name, rows, checksum = line.split("\t")
            states[name] = TableState(int(rows), checksum)
        return states

    def _query(self, server: ScratchServer, query: str) -> tuple[bool, str]:
        run = self.remote.run(server.client("-q", query), timeout=600)
        return run.ok, (run.text if run.ok else run.tail(3)).strip()

    @contextmanager
    def _scratch_server(self, target: str, user: str) -> Iterator[ScratchServer]:
        """A throwaway ``clickhouse-server`` with its data in ``target/clickhouse``, run by the
        throwaway ``user``, its one user's password made on the host (the client reads it from
        ``target/clickhouse/client.xml``, the user's, mode 0600), listening on
        its first free port from ``PORT``; stopped whatever happens, and bounded in time even
        if not."""
        home = f"{target}/clickhouse"
        client_config = f"{home}/client.xml"
        started = self.remote.run(script("clickhouse-start", target, home, client_config,
                                         str(PORT), user, str(SERVER_LIMIT),
                                         CONFIG.format(home=escape(home)), USERS, CLIENT_CONFIG),
                                  timeout=180)
        try:
            if not started.ok or not started.text.strip().isdigit():
                log = self.remote.run(argv("tail", "-n", "3", f"{home}/server.err.log")).text.strip()
                raise DrillCouldNotRun(f"{self._who()}: scratch ClickHouse did not start on "
                                       f"127.0.0.1 in {home}: {log or started.tail(3)}")
            yield ScratchServer(home, user, client_config, int(started.text.strip()))
        finally:
            # the server leads its own process group (setsid): stop it all, then make sure
            self.remote.run(script("process-group-stop", f"{target}/clickhouse.group"), timeout=60)
