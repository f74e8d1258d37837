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
import shlex
import time
from collections.abc import Iterator
from contextlib import contextmanager

from drills.adapters.restic import RestoreFailed
from drills.core.transport import DrillCouldNotRun, script
from drills.restores.databases import FALSE_VALUES, DatabaseRestore, DumpDrill, SmokeResult, TableState
from drills.restores.scratch import scratch_dir

PORT = 19000  # the scratch server's native port, on 127.0.0.1 only (no HTTP port)
OWNER = "clickhouse"  # the OS user Debian's clickhouse-server runs as
SERVER_LIMIT = 4 * 3600  # the scratch server dies with this even if the drill is killed
CONFIG = """<yandex>
  <logger><level>warning</level><log>{home}/server.log</log>
    <errorlog>{home}/server.err.log</errorlog><console>0</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>{port}</tcp_port>
  <path>{home}/data/</path>
  <tmp_path>{home}/tmp/</tmp_path>
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
class ClickHouseDrill(DumpDrill):
    SERVER = "ClickHouse"
    client = ""  # the scratch server's clickhouse-client command, once it runs
    client_config = ""  # the file its client reads the password from

    def restore(self, tier: str | None = None) -> DatabaseRestore:
        """Restore the newest backup of ``tier`` into a scratch ClickHouse server and measure
        it: the restore time runs until the last part is attached."""
        database = str(self.dump.database)
        started = time.monotonic()
        with scratch_dir(self.remote, self.job) as target:
            fetched = self._fetch(target, tier)
            backup = f"{target}/backup"
            unpacked = self.remote.run(f"mkdir {backup} && tar -C {backup} -xf "
                                       f"{shlex.quote(fetched.path)} && cat {backup}/manifest.json",
                                       timeout=3600)
            if not unpacked.ok:
                raise RestoreFailed(f"{self._who()}: the backup {fetched.origin} did not unpack: "
                                    f"{unpacked.tail(3)}")
            try:
                manifest = json.loads(unpacked.text)
            except ValueError:
                manifest = None
            if not isinstance(manifest, dict):
                raise RestoreFailed(f"{self._who()}: manifest.json of {fetched.origin} is not JSON")
            with self._scratch_server(target) as home:
                attached = self.remote.run(self._attach_script(backup, home, database),
                                           timeout=4 * 3600)
                if not attached.ok:
                    raise RestoreFailed(f"{self._who()}: attaching the parts of {fetched.origin} "
                                        f"to a scratch ClickHouse failed: {attached.tail(3)}")
                outcome = DatabaseRestore(
                    self.job, self.remote.name, f"clickhouse database {database}",
                    fetched.origin, fetched.made_at, time.monotonic() - started, 0.0,
                    f"{fetched.command} && tar -xf && clickhouse-client "
                    f"\"ALTER TABLE {database}.<table> ATTACH PART '<part>'\"",
                    expected=manifest.get("tables") or {})
                outcome.tables = self._tables(database, fetched.origin)
                outcome.smoke = [SmokeResult(q, ok and out.split("\t")[0].lower() not in FALSE_VALUES,
                                             out) for q in self.dump.smoke_queries
                                 for ok, out in [self._query(q)]]
        outcome.drill_seconds = time.monotonic() - started
        return outcome

    def _attach_script(self, backup: str, home: str, database: str) -> str:
        """Create the database and each table from its metadata, copy its frozen parts into
        the table's ``detached/`` and attach them one by one (``scripts/clickhouse-attach.sh``)."""
        return script("clickhouse-attach", self.client_config, str(PORT), backup, home, database, OWNER)

    def _tables(self, database: str, origin: str) -> dict[str, TableState]:
        """Rows and checksum of each restored table; a table that cannot be read back (a
        corrupt part: ClickHouse checks its blocks as it reads) fails the restore."""
        listed = self.remote.run(script("clickhouse-checksums", self.client_config, str(PORT), database),
                                 timeout=3600)
        if not listed.ok:
            raise RestoreFailed(f"{self._who()}: reading back the tables restored from {origin} "
                                f"failed: {listed.tail(3)}")
        states = {}
        for line in listed.text.splitlines():
            name, rows, checksum = line.split("\t")
            states[name] = TableState(int(rows), checksum)
        return states

    def _query(self, query: str) -> tuple[bool, str]:
        run = self.remote.run(f"{self.client} -q {shlex.quote(query)}", timeout=600)
        return run.ok, (run.text if run.ok else run.tail(3)).strip()

    @contextmanager
    def _scratch_server(self, target: str) -> Iterator[str]:
        """A throwaway ``clickhouse-server`` with its data in ``target/clickhouse``, owned by
        the server's OS user, its one user's password made on the host (the client reads it
        from ``target/client.xml``, mode 0600); refused if anything answers on its port
        already; stopped whatever happens, and bounded in time even if not."""
        home, client_config = f"{target}/clickhouse", f"{target}/client.xml"
        self.client = (f"clickhouse-client --config-file={client_config} --host 127.0.0.1 "
                       f"--port {PORT}")
        self.client_config = client_config
        started = self.remote.run(script("clickhouse-start", target, home, client_config, str(PORT), OWNER,
                                         str(SERVER_LIMIT), CONFIG.format(home=home, port=PORT), USERS,
                                         CLIENT_CONFIG), timeout=120)
        try:
            if not started.ok:
                log = self.remote.run(f"tail -n 3 {home}/server.err.log").text.strip()
                raise DrillCouldNotRun(f"{self._who()}: scratch ClickHouse did not start on "
                                       f"127.0.0.1:{PORT} in {home}: {log or started.tail(3)}")
            yield home
        finally:
            # the server leads its own process group (setsid): stop it all, then make sure (a
            # negative pid names the group; sh's kill takes no "--")
            self.remote.run(script("process-group-stop", f"{home}/group"), timeout=60)
