"""databases.feature, cron.feature and metrics.feature bite on cartae, the lab's database host
(and on akira's mirrored Nextcloud dump):
a dump that leaves out a table's rows or a whole table, a canary the dump misses, a stale Redis
RDB, a cron entry moved or a cron daemon stopped, metrics gone, failed or stale. Each failure
names host, job and what is wrong; then the lab is healed and the scenario passes again."""

import time

import pytest

from tests.faults.conftest import LabHost

pytestmark = [pytest.mark.lab, pytest.mark.touches("cartae")]

POSTGRES = "test_the_latest_pg_dump_restores_into_a_scratch_postgresql_as_the_source_was_at_dump_time"
CANARY = "test_a_canary_row_written_before_an_ondemand_backup_comes_back_from_its_dump"
REDIS = "test_the_latest_redis_rdb_loads_into_a_scratch_redisserver_as_the_source_was_at_dump_time"
CRON = "test_the_jobs_cron_entry_is_installed_on_its_declared_schedule"
METRICS = "test_the_jobs_metrics_report_a_successful_backup_younger_than_its_rpo"
SETTINGS = "/etc/miket/cartae-backup.env"  # the estate's own backup settings (PG_DUMP_ARGS ...)
CRONTAB = "/etc/cron.d/cartae-backup"
GROUP = "http://127.0.0.1:9091/metrics/job/cartae-backup/instance/cartae"


@pytest.fixture
def cartae(lab) -> LabHost:
    return LabHost("cartae")


def backup(cartae: LabHost, settings: str = "") -> None:
    """Run Cartae's nightly backup now, with these settings (none: the healthy estate)."""
    cartae.sh(f"printf '%s\\n' {settings!r} > {SETTINGS}" if settings else f"rm -f {SETTINGS}")
    cartae.sh("/usr/local/sbin/cartae-backup || true", timeout=600)


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ("PG_DUMP_ARGS=--exclude-table-data=app.invoices",
         ["database cartae from snapshot", "app.invoices: 0 rows restored, 4000 at dump time"]),
        ("PG_DUMP_ARGS=--exclude-table=app.invoices",
         ["app.invoices: missing from the restore (4000 rows at dump time)"]),
        ("PG_DUMP_ARGS=--exclude-table-data=app.orders",  # invoices refer to orders: no restore
         ["pg_restore of /var/backups/cartae/postgres/cartae.dump", "violates foreign key"]),
    ],
    ids=["rows-left-out", "table-left-out", "restore-breaks"],
)
def test_a_dump_missing_data_fails_naming_the_table(drill, cartae, settings, named):
    job_id = "cartae-postgres@cartae"
    with cartae.keep(SETTINGS):
        try:
            backup(cartae, settings)
            drill.run(POSTGRES, job_id).expect_failure("host cartae, job cartae-postgres", *named)
        finally:
            backup(cartae)  # heal on every path: a healthy dump is the latest again
    drill.healed(POSTGRES, job_id)


def test_smoke_queries_and_expected_tables_bite(drill, cartae):
    """The manifest still matches (the table is gone from source and dump alike), so only the
    smoke checks can tell: an expected table missing and a query returning false."""
    job_id = "cartae-postgres@cartae"
    drill.run(POSTGRES, job_id).expect_pass()
    inventory = drill.inventory_with(job="cartae-postgres", dump={
        **drill.job_doc("cartae-postgres")["dump"], "tables": ["app.accounts", "app.refunds"],
        "smoke_queries": ["SELECT 1", "SELECT count(*) > 100000 FROM app.orders"]})
    drill.run(POSTGRES, job_id, inventory).expect_failure(
        "host cartae, job cartae-postgres", "expected table app.refunds is missing",
        "`SELECT count(*) > 100000 FROM app.orders` returned 'f'", "2 of 4 smoke checks passed")


def test_a_canary_row_the_dump_misses_fails_naming_the_table(drill, cartae):
    job_id = "cartae-postgres@cartae"
    with cartae.keep(SETTINGS):
        cartae.sh(f"echo PG_DUMP_ARGS=--exclude-table-data=ops.drill_canary > {SETTINGS}")
        try:
            drill.run(CANARY, job_id).expect_failure(
                "host cartae, job cartae-postgres", "in ops.drill_canary: 0 row(s) in the dump")
        finally:
            backup(cartae)
    assert cartae.sh("runuser -u postgres -- psql -At -d cartae -c "
                     "'SELECT count(*) FROM ops.drill_canary'").strip() == "0", "canary row left behind"
    drill.healed(CANARY, job_id)


def test_a_stale_redis_rdb_fails_naming_keys_and_digest(drill, cartae):
    """The backup copies the RDB on disk without saving first: a key written since is missing."""
    job_id = "cartae-redis@cartae"
    with cartae.keep(SETTINGS):
        cartae.sh("redis-cli set drill:fault:late-key 1 >/dev/null")
        try:
            backup(cartae, "REDIS_SAVE=none")
            run = drill.run(REDIS, job_id)
        finally:
            cartae.sh("redis-cli del drill:fault:late-key >/dev/null")
        try:
            run.expect_failure("host cartae, job cartae-redis", "redis /var/backups/cartae/redis/dump.rdb",
                               "keys restored", "at dump time", "dataset digest")
        finally:
            backup(cartae)
    drill.healed(REDIS, job_id)


def test_a_corrupted_redis_rdb_fails_at_once_with_the_servers_own_error(drill, cartae):
    """A flipped byte in the backed-up RDB's checksum: the scratch redis-server exits while loading it
    ("Wrong RDB checksum", none of the phrases the wait once looked for). The wait watches the
    process, so this is NOT COMPLIANT in seconds, not COULD NOT RUN after ten minutes."""
    job_id = "cartae-redis@cartae"
    live = "/var/lib/redis/dump.rdb"  # what REDIS_SAVE=none copies into the backup
    with cartae.keep(SETTINGS), cartae.keep(live):
        # the last byte, in the CRC64 trailer: every record still reads, and the server's own
        # check of the whole file fails (a byte in the middle may land in a record, whose own
        # integrity check then speaks first: "Hash listpack integrity check failed")
        cartae.sh(f"size=$(stat -c %s {live}); last=$(tail -c 1 {live} | od -An -tu1 | tr -d ' '); "
                  f"printf \"\\\\$(printf %o $((last ^ 255)))\" | dd of={live} bs=1 "
                  f"seek=$((size - 1)) conv=notrunc 2>/dev/null")
        try:
            backup(cartae, "REDIS_SAVE=none")
            started = time.monotonic()
            run = drill.run(REDIS, job_id)
            took = time.monotonic() - started
        finally:
            backup(cartae)  # a fresh save: the live RDB is whole again
    run.expect_failure("host cartae, job cartae-redis", "did not load into a scratch redis-server",
                       "Wrong RDB checksum")
    assert took < 120, f"the failed load took {took:.0f}s to be judged"
    drill.healed(REDIS, job_id)


@pytest.mark.parametrize(
    ("fault", "heal", "named"),
    [
        (f"sed -i 's/^0 2 /0 3 /' {CRONTAB}", "",
         [f"{CRONTAB}:5 runs '/usr/local/sbin/cartae-backup", "on '0 3 * * *'",
          "the inventory declares '0 2 * * *'"]),
        (f"sed -i 's/^0 2 /# 0 2 /' {CRONTAB}", "",
         [f"no line in {CRONTAB} runs /usr/local/sbin/cartae-backup"]),
        ("systemctl stop cron", "systemctl start cron", ["the cron daemon is not running"]),
    ],
    ids=["schedule-moved", "entry-commented-out", "daemon-stopped"],
)
def test_a_cron_fault_fails_naming_host_job_and_file(drill, cartae, fault, heal, named):
    job_id = "cartae-backup@cartae"
    with cartae.keep(CRONTAB):
        cartae.sh(fault)
        try:
            drill.run(CRON, job_id).expect_failure("host cartae, job cartae-backup", *named)
        finally:
            if heal:
                cartae.sh(heal)
    drill.healed(CRON, job_id)


def test_a_cron_entry_written_otherwise_passes_and_another_hour_fails(drill, cartae):
    """The same nightly 02:00 with a zero-padded hour, month names and 0-7 for the weekdays
    passes (cron's own rules, read by cronsim: not the text); 03:00 in the same form fails,
    naming both forms. Healed by putting back the file as the lab's image ships it."""
    job_id = "cartae-backup@cartae"
    with cartae.keep(CRONTAB):
        cartae.sh(f"sed -i 's/^0 2 \\* \\* \\* /00 02 * jan-dec 0-7 /' {CRONTAB}")
        assert "00 02 * jan-dec 0-7 root /usr/local/sbin/cartae-backup" in cartae.sh(f"cat {CRONTAB}")
        drill.run(CRON, job_id).expect_pass()
        cartae.sh(f"sed -i 's/^00 02 /00 03 /' {CRONTAB}")
        drill.run(CRON, job_id).expect_failure(
            "host cartae, job cartae-backup", f"{CRONTAB}:5 runs '/usr/local/sbin/cartae-backup",
            "on '00 03 * jan-dec 0-7' (fires at other times", "only the declared schedule fires",
            "the inventory declares '0 2 * * *'")
    drill.healed(CRON, job_id)


@pytest.mark.parametrize(
    ("fault", "named"),
    [
        (f"curl -sf -X DELETE {GROUP}", ["backup_success at http://127.0.0.1:9091/metrics",
                                          "is absent, expected 1"]),
        ("backup-failing", ["backup_success at http://127.0.0.1:9091/metrics", "is 0, expected 1"]),
        ("stale", ["backup_timestamp_seconds at http://127.0.0.1:9091/metrics is 48h", "RPO 1d"]),
    ],
    ids=["metrics-gone", "backup-failed", "last-push-stale"],
)
def test_a_metrics_fault_fails_naming_the_metric(drill, cartae, fault, named):
    job_id = "cartae-backup@cartae"
    with cartae.keep(SETTINGS):
        if fault == "backup-failing":
            backup(cartae, "PG_DUMP_ARGS=--no-such-option")
        elif fault == "stale":
            two_days_ago = int(time.time()) - 2 * 86400
            cartae.sh(f"echo 'backup_timestamp_seconds {two_days_ago}' | "
                      f"curl -sf --data-binary @- {GROUP}")
        else:
            cartae.sh(fault)
        try:
            drill.run(METRICS, job_id).expect_failure("host cartae, job cartae-backup", *named)
        finally:
            backup(cartae)
    drill.healed(METRICS, job_id)


@pytest.mark.touches("akira")
def test_a_mirrored_nextcloud_dump_missing_rows_fails_naming_the_table_and_the_mirror(drill, akira):
    settings = "/etc/miket/nextcloud-db-dump.env"

    def dump_and_mirror() -> None:
        akira.sh("systemctl start nextcloud-db-dump.service; systemctl start space-mirror.service",
                 timeout=600)

    with akira.keep(settings):
        try:
            akira.sh(f"echo PG_DUMP_ARGS=--exclude-table-data=app.invoices > {settings}")
            dump_and_mirror()
            drill.run(POSTGRES, "nextcloud-db@akira").expect_failure(
                "host akira, job nextcloud-db", "database nextcloud from mirror b2mirror:space-mirror",
                "app.invoices: 0 rows restored, 4000 at dump time")
        finally:
            akira.sh(f"rm -f {settings}")
            dump_and_mirror()  # heal on every path: a healthy dump, mirrored
    drill.healed(POSTGRES, "nextcloud-db@akira")
