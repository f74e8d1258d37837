"""Steps for databases.feature: dumps restored into scratch servers on the job's host."""

from __future__ import annotations

from pytest_bdd import then, when

from drills import dbchecks
from drills.databases import DatabaseRestore, PostgresDrill, RedisDrill
from drills.drill import backup_now
from drills.evidence import EvidenceLog
from drills.inventory import Job
from drills.transport import Remote
from steps.plugin import require


@when("I restore the latest database dump into a scratch PostgreSQL", target_fixture="restored")
def _(remote: Remote, job: Job) -> DatabaseRestore:
    """`pg_restore` the newest snapshot's `dump.path` into a throwaway cluster in scratch."""
    return PostgresDrill(remote, job).restore()


@when("I write a canary row to the source database and run the job's backup on demand",
      target_fixture="restored")
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
def _(remote: Remote, job: Job) -> DatabaseRestore:
    """Start a throwaway redis-server on a socket in scratch with the newest snapshot's RDB."""
    return RedisDrill(remote, job).restore()


@then("every table's row count and checksum match the source at dump time")
@then("its key count and dataset digest match the source at dump time")
def _(restored: DatabaseRestore, job: Job, evidence: EvidenceLog) -> None:
    """The restore matches `dump.manifest`, written by the backup in the dump's own snapshot."""
    require(dbchecks.data_matches_dump_time(restored), job, evidence)


@then("the smoke queries pass and the expected tables are present")
def _(restored: DatabaseRestore, job: Job, evidence: EvidenceLog) -> None:
    """Each of `dump.smoke_queries` returns a true first value; `dump.tables` all exist."""
    tables = job.dump.tables if job.dump else ()
    require(dbchecks.smoke_queries_pass(restored, tables), job, evidence)


@then("the canary row is in the restored database")
def _(restored: DatabaseRestore, job: Job) -> None:
    """The dump of the on-demand backup holds exactly one row with the planted token."""
    table = job.dump.canary_table if job.dump else None
    require(dbchecks.canary_row_back(restored, table))
