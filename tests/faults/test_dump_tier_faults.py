"""dump_tiers.feature bites on carbon, 254Carbon's PostgreSQL and ClickHouse: an empty newest dump, a missing
weekly dump and an overstaying daily one, a dump job stopped for days (versioning: test_bucket.py).
Each failure names host, job and the object or bucket; then the lab is healed."""

import shlex
from datetime import UTC, datetime, timedelta

import pytest

from backup_drills.core.transport import Remote
from backup_drills.inventory.schema import load_inventory
from backup_drills.restores.clickhouse import ClickHouseDrill
from backup_drills.restores.scratch import scratch_dir
from backup_drills.restores.throwaway import throwaway_user
from tests.faults.conftest import ROOT, LabHost

pytestmark = [pytest.mark.lab, pytest.mark.touches("carbon")]

JOB = "carbon-postgres@carbon"
WHO = "host carbon, job carbon-postgres"
PREFIX = "minio:backups/postgres"
RESTORE = "test_the_newest_dump_of_every_tier_restores_and_passes_the_smoke_queries"
TIERS = "test_every_tier_keeps_the_dumps_it_promises"
FRESH = "test_the_newest_dump_is_younger_than_the_rpo"


class Carbon(LabHost):
    def rclone(self, words: str) -> str:
        return self.sh(f"set -a; . /etc/miket/storage-credentials.env; set +a; rclone {words}")

    def dumps(self, tier: str, prefix: str = PREFIX, suffix: str = ".sql") -> list[str]:
        return sorted(w for w in self.rclone(f"lsf {prefix}/{tier}").split() if w.endswith(suffix))


@pytest.fixture
def carbon(lab) -> Carbon:
    return Carbon("carbon")


def test_an_empty_newest_dump_fails_naming_it(drill, carbon):
    empty = f"254carbon-{datetime.now(UTC):%Y%m%d}-235959.sql"  # a pg_dump that wrote nothing
    carbon.sh(": > /tmp/empty.sql")
    carbon.rclone(f"copyto /tmp/empty.sql {PREFIX}/daily/{empty}")
    try:
        drill.run(RESTORE, JOB).expect_failure(
            WHO, f"{PREFIX}/daily/{empty}: 0 tables, 0 rows", "expected table app.orders is missing")
    finally:
        carbon.rclone(f"deletefile {PREFIX}/daily/{empty}")
    drill.healed(RESTORE, JOB)


def test_a_missing_weekly_and_an_overstaying_daily_dump_are_named(drill, carbon):
    weekly = carbon.dumps("weekly")[-2]
    # two days past the window: the newer one may wait for the next prune, the older may not
    stale, staler = (f"254carbon-{datetime.now(UTC) - timedelta(days=d):%Y%m%d}-030000.sql"
                     for d in (10, 11))
    carbon.rclone(f"moveto {PREFIX}/weekly/{weekly} {PREFIX}-stash/{weekly}")
    for name in (stale, staler):
        carbon.rclone(f"copyto {PREFIX}/daily/{carbon.dumps('daily')[-1]} {PREFIX}/daily/{name}")
    try:
        day = datetime.strptime(weekly.split("-")[1], "%Y%m%d")
        week = "{}-W{:02d}".format(*day.isocalendar()[:2])
        drill.run(TIERS, JOB).expect_failure(
            WHO, f"weekly: weekly {week}: no dump, though the policy keeps 4 weekly",
            f"dump daily/{staler}", "outlives the policy (7 daily)")
    finally:
        for name in (stale, staler):
            carbon.rclone(f"deletefile {PREFIX}/daily/{name}")
        carbon.rclone(f"moveto {PREFIX}-stash/{weekly} {PREFIX}/weekly/{weekly}")
    drill.healed(TIERS, JOB)


def test_a_dump_job_stopped_for_days_fails_freshness(drill, carbon):
    today = f"{datetime.now(UTC):%Y%m%d}"
    yesterday = f"{datetime.now(UTC) - timedelta(days=1):%Y%m%d}"
    recent = [(tier, name) for tier in ("daily", "weekly", "monthly") for name in carbon.dumps(tier)
              if name.split("-")[1] in (today, yesterday)]
    for tier, name in recent:
        carbon.rclone(f"moveto {PREFIX}/{tier}/{name} {PREFIX}-stash/{tier}/{name}")
    try:
        drill.run(FRESH, JOB).expect_failure(WHO, "newest dump: minio:backups/postgres/", "RPO 26h")
    finally:
        for tier, name in recent:
            carbon.rclone(f"moveto {PREFIX}-stash/{tier}/{name} {PREFIX}/{tier}/{name}")
    drill.healed(FRESH, JOB)


CLICKHOUSE_JOB = "carbon-clickhouse@carbon"
CLICKHOUSE_WHO = "host carbon, job carbon-clickhouse"
CLICKHOUSE = "minio:backups/clickhouse"
CLICKHOUSE_RESTORE = "test_the_newest_clickhouse_backup_of_every_tier_restores_as_it_was_at_backup_time"


def altered_clickhouse_backup(carbon: Carbon, alteration: str) -> str:
    """Today's newest daily ClickHouse backup unpacked, altered by the shell ``alteration``
    (run inside it) and filed as a newer daily backup; its object path."""
    newest = carbon.dumps("daily", CLICKHOUSE, ".tar")[-1]
    name = f"analytics-{datetime.now(UTC):%Y%m%d}-235959.tar"
    carbon.rclone(f"copyto {CLICKHOUSE}/daily/{newest} /tmp/fault/{newest}")
    carbon.sh(f"cd /tmp/fault && mkdir b && tar -C b -xf {newest} && cd b && {alteration} && "
              f"tar -cf ../{name} .")
    carbon.rclone(f"copyto /tmp/fault/{name} {CLICKHOUSE}/daily/{name}")
    return f"{CLICKHOUSE}/daily/{name}"


def test_a_clickhouse_backup_missing_a_part_is_named_with_the_rows_it_lost(drill, carbon):
    # one month's part of the ticks gone, the manifest still counting it (as a backup that
    # lost an upload would be): the restored table is short of the rows at backup time
    path = altered_clickhouse_backup(
        carbon, "rm -r \"$(ls -d shadow/analytics/ticks/* | head -n 1)\"")
    try:
        drill.run(CLICKHOUSE_RESTORE, CLICKHOUSE_JOB).expect_failure(
            CLICKHOUSE_WHO, f"{path}: 2 tables, 12120 rows",
            "analytics.ticks: 12000 rows restored, 18000 at dump time")
    finally:
        carbon.rclone(f"deletefile {path}")
        carbon.sh("rm -rf /tmp/fault")
    drill.healed(CLICKHOUSE_RESTORE, CLICKHOUSE_JOB)


def test_a_clickhouse_backup_with_a_corrupt_part_fails_naming_it(drill, carbon):
    # a column file of one part altered: the part attaches, but ClickHouse checks each block
    # as it reads, so the restored table cannot be read back
    path = altered_clickhouse_backup(
        carbon, "f=\"$(ls -d shadow/analytics/ticks/* | head -n 1)/price.bin\" && "
                "printf 'XXXXXXXX' | dd of=\"$f\" bs=1 seek=64 conv=notrunc 2>/dev/null")
    try:
        drill.run(CLICKHOUSE_RESTORE, CLICKHOUSE_JOB).expect_failure(
            CLICKHOUSE_WHO, f"reading back the tables restored from {path} failed",
            "Checksum doesn't match: corrupted data", "while reading column price")
    finally:
        carbon.rclone(f"deletefile {path}")
        carbon.sh("rm -rf /tmp/fault")
    drill.healed(CLICKHOUSE_RESTORE, CLICKHOUSE_JOB)


def test_the_scratch_clickhouse_server_answers_only_to_the_drill(lab):
    # restored production data on 127.0.0.1 (ClickHouse 18.16 has no socket): the server's one
    # user has a password made on the host, which only the drill's client config holds; the
    # server and its client run as a throwaway user, neither root nor clickhouse, gone after
    inventory = load_inventory(ROOT / "inventory/lab.yml")
    job = inventory.jobs["carbon-clickhouse"]
    remote = Remote(inventory.hosts[job.host])
    drill = ClickHouseDrill(remote, job)
    with scratch_dir(remote, job) as target, throwaway_user(remote, job) as user, \
            drill._scratch_server(target, user) as server:
        anonymous = f"clickhouse-client --host 127.0.0.1 --port {server.port} -q 'SELECT 1'"
        refused = remote.run(anonymous)
        assert not refused.ok
        assert "password" in refused.stderr.lower(), refused.stderr
        assert remote.run(server.client("-q", "SELECT 1")).text.strip() == "1"
        mode = remote.run(f"stat -c '%a %U' {server.client_config} {server.home}").text.split()
        assert mode == ["600", user, "700", user], mode
        assert remote.run(f"pgrep -u {user} -x clickhouse-serv").ok, f"no clickhouse-server of {user}"
    assert "Connection refused" in remote.run(anonymous).stderr  # stopped with the drill
    assert not remote.run(f"id {user}").ok, f"{user} is left on the host"


def hostile_dump(carbon: Carbon, lines: list[str]) -> str:
    """Today's newest daily dump with ``lines`` after its line 20 (past pg_dump's SET lines),
    filed as a newer daily dump; its object path. The lines are 21, 22..."""
    newest = carbon.dumps("daily")[-1]
    name = f"254carbon-{datetime.now(UTC):%Y%m%d}-235959.sql"
    carbon.rclone(f"copyto {PREFIX}/daily/{newest} /tmp/fault/{newest}")
    carbon.sh(f"cd /tmp/fault && printf '%s\\n' {' '.join(shlex.quote(line) for line in lines)} "
              f"> hostile && sed '20r hostile' {newest} > {name}")
    carbon.rclone(f"copyto /tmp/fault/{name} {PREFIX}/daily/{name}")
    return f"{PREFIX}/daily/{name}"


PWNED = ("/tmp/pwned", "/tmp/pwned2", "/tmp/pwned3")


@pytest.mark.parametrize(
    ("lines", "named"),
    [
        # psql reads "$BEGIN" as "$" and BEGIN: the function is still open at ";", and the COPY
        # after it no data block (the security review of issue 23)
        (["\\! touch /tmp/pwned", "COPY (SELECT 1) TO PROGRAM 'touch /tmp/pwned2';",
          "CREATE FUNCTION x $BEGIN ;", "COPY t FROM stdin;", "\\! touch /tmp/pwned3", "\\."],
         ["it holds what psql would run itself, not SQL for the server (nothing of it ran)",
          "line 21: `\\! touch /tmp/pwned` (a psql meta-command)",
          "line 22: `COPY (SELECT 1) TO PROGRAM 'touch /tmp/pwned2';` (a COPY other than FROM stdin)",
          "line 25: `\\! touch /tmp/pwned3` (a psql meta-command)"]),
        (["DO $$BEGIN EXECUTE 'COPY (SELECT 1) TO PROGRAM ''touch /tmp/pwned2'''; END$$;"],
         ["psql -f of", "failed at line 21: `DO $$BEGIN EXECUTE 'COPY (SELECT 1) TO PROGRAM "
          "''touch /tmp/pwned2'''; END$$;`", "to COPY to or from an external program"]),
    ],
    ids=["psql-commands", "copy-to-program-in-sql"],
)
def test_a_hostile_plain_dump_is_refused_naming_its_lines_and_runs_nothing(drill, carbon, lines, named):
    # a plain dump is SQL whoever wrote the bucket chose: a psql meta-command is refused by the
    # scan before anything runs; COPY ... TO PROGRAM hidden in SQL reaches the server, which
    # refuses it to the plain role the restore connects as
    carbon.sh(f"rm -rf {' '.join(PWNED)} /tmp/fault && mkdir /tmp/fault")
    path = hostile_dump(carbon, lines)
    try:
        drill.run(RESTORE, JOB).expect_failure(WHO, path, *named)
    finally:
        carbon.rclone(f"deletefile {path}")
        carbon.sh("rm -rf /tmp/fault")
    assert carbon.sh(f"ls {' '.join(PWNED)} 2>/dev/null || true").strip() == "", "the dump ran a program"
    drill.healed(RESTORE, JOB)


def test_a_clickhouse_backup_with_an_injected_part_name_and_an_outfile_is_refused(drill, carbon):
    # a part directory whose name closes ATTACH PART's quote, and a metadata file that is a
    # SELECT ... INTO OUTFILE (clickhouse-client writes that file itself): both named, none run
    carbon.sh(f"rm -rf {' '.join(PWNED)} /tmp/fault && mkdir /tmp/fault")
    part = "202609_9_9_0');SYSTEM SHUTDOWN;--"
    outfile = "SELECT * FROM analytics.ticks INTO OUTFILE '/tmp/pwned3'"
    path = altered_clickhouse_backup(
        carbon, f"mkdir {shlex.quote('shadow/analytics/ticks/' + part)} && "
                f"printf '%s\\n' {shlex.quote(outfile)} > metadata/analytics/evil.sql")
    try:
        drill.run(CLICKHOUSE_RESTORE, CLICKHOUSE_JOB).expect_failure(
            CLICKHOUSE_WHO, f"refusing the backup {path} (nothing of it ran)",
            f"shadow/analytics/ticks/{part}: not a part name",
            f"metadata/analytics/evil.sql: line 1: {outfile}: expected ATTACH TABLE or CREATE "
            "TABLE, found SELECT")
    finally:
        carbon.rclone(f"deletefile {path}")
        carbon.sh("rm -rf /tmp/fault")
    assert carbon.sh(f"ls {' '.join(PWNED)} 2>/dev/null || true").strip() == "", "the backup ran"
    drill.healed(CLICKHOUSE_RESTORE, CLICKHOUSE_JOB)
