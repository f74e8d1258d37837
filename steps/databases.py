"""Steps for databases.feature: dumps restored into scratch servers on the job's host."""

from __future__ import annotations

from pytest_bdd import then, when

from backup_drills.core.transport import Remote
from backup_drills.inventory.schema import Job
from backup_drills.outcomes import require
from backup_drills.restores.clickhouse import ClickHouseDrill
from backup_drills.restores.databases import DatabaseRestore, PostgresDrill, RedisDrill
from backup_drills.restores.trees import backup_now
from backup_drills.steps.plugin.needs import needs
from backup_drills.verdicts.databases import (
    TierRestores,
    canary_row_back,
    data_matches_dump_time,
    newest_dump_fresh,
    smoke_queries_pass,
    tiers_keep_promise,
    tiers_restore_and_pass_smoke,
)


@when("I restore the latest database dump into a scratch PostgreSQL", target_fixture="restored")
@needs("postgres")
def _(remote: Remote, job: Job) -> DatabaseRestore:
    """`pg_restore` `dump.path` of the newest snapshot (or the mirror) into a throwaway cluster in scratch."""
    return PostgresDrill(remote, job).restore()


@when("I write a canary row to the source database and run the job's backup on demand",
      target_fixture="restored")
@needs("postgres", "db_canary")
def _(remote: Remote, job: Job) -> DatabaseRestore:
    """Insert a unique token into `dump.canary_table`, run the job's backup (its cron line or
    service), restore the new dump, count the token; the row is deleted from the source after."""
    drill = PostgresDrill(remote, job)
    token = drill.plant_canary()
    try:
        backup_now(remote, job)
        return drill.restore(canary=token)
    finally:
        drill.remove_canary(token)


@when("I load the latest Redis RDB into a scratch redis-server", target_fixture="restored")
@needs("redis")
def _(remote: Remote, job: Job) -> DatabaseRestore:
    """Start a throwaway redis-server on a socket in scratch with the newest snapshot's RDB."""
    return RedisDrill(remote, job).restore()


@then("every table's row count and checksum match the source at dump time")
@then("its key count and dataset digest match the source at dump time")
def _(restored: DatabaseRestore, job: Job) -> None:
    """The restore matches `dump.manifest`, written by the backup in the dump's own snapshot."""
    require(data_matches_dump_time(restored))


@then("the smoke queries pass and the expected tables are present")
def _(restored: DatabaseRestore, job: Job) -> None:
    """Each of `dump.smoke_queries` returns a true first value; `dump.tables` all exist."""
    tables = job.dump.tables if job.dump else ()
    require(smoke_queries_pass(restored, tables))


@then("the canary row is in the restored database")
@needs("db_canary")
def _(restored: DatabaseRestore, job: Job) -> None:
    """The dump of the on-demand backup holds exactly one row with the planted token."""
    table = job.dump.canary_table if job.dump else None
    require(canary_row_back(restored, table))


@when("I restore the newest dump of every tier into a scratch PostgreSQL", target_fixture="restored")
@needs("postgres", "dump_tiers")
def _(remote: Remote, job: Job) -> TierRestores:
    """For each of `dump.tiers`, the newest object under `dump.remote`, loaded into its own
    throwaway cluster in scratch (`psql -f` for `format: plain`, else `pg_restore`)."""
    return every_tier(PostgresDrill(remote, job))


@when("I restore the newest ClickHouse backup of every tier into a scratch ClickHouse server",
      target_fixture="restored")
@needs("clickhouse", "dump_tiers")
def _(remote: Remote, job: Job) -> TierRestores:
    """For each of `dump.tiers`, the newest backup under `dump.remote`, unpacked in scratch, its
    tables created and frozen parts attached in a throwaway `clickhouse-server` on 127.0.0.1."""
    return every_tier(ClickHouseDrill(remote, job))


def every_tier(drill: PostgresDrill | ClickHouseDrill) -> TierRestores:
    """The newest dump of each of `dump.tiers`, restored by ``drill`` into its own server."""
    return TierRestores(drill.job, drill.remote.name,
                        [drill.restore(tier=tier) for tier in drill.dump.tiers], drill.SERVER)


@then("every tier's dump holds data, passes the smoke queries and has the expected tables")
def _(restored: TierRestores, job: Job) -> None:
    """Each tier's restore has rows, every `dump.smoke_queries` is true, `dump.tables` exist."""
    tables = job.dump.tables if job.dump else ()
    require(tiers_restore_and_pass_smoke(restored, tables))


@then("every tier's backup matches its manifest, passes the smoke queries and has the expected tables")
def _(restored: TierRestores, job: Job) -> None:
    """Each tier's restore has the row count and checksum of every table in the backup's
    manifest, every `dump.smoke_queries` is true, `dump.tables` exist."""
    tables = job.dump.tables if job.dump else ()
    require(tiers_restore_and_pass_smoke(restored, tables))


@then("every tier holds a dump for each day, week or month it promises, and no more")
@needs("dump_tiers")
def _(remote: Remote, job: Job) -> None:
    """Each tier of `dump.tiers` against its count, read as restic's keep rules: a dump in each
    promised slot where history exists, none the count no longer keeps."""
    require(tiers_keep_promise(remote, job))


@then("the newest dump is younger than the RPO")
@needs("dump_tiers")
def _(remote: Remote, job: Job) -> None:
    """The newest dump of any tier, dated by its name, is no older than the `rpo`."""
    require(newest_dump_fresh(remote, job))
