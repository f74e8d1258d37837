"""Steps for borg.feature: borg repositories checked, fresh, kept by prune's rules, restored,
by the verdicts every tool shares (``backup_drills.verdicts.repository``)."""

from __future__ import annotations

from pytest_bdd import then, when

from backup_drills.core.transport import Remote
from backup_drills.inventory.schema import Job
from backup_drills.outcomes import require
from backup_drills.restores.trees import RestoreDrill, RestoreOutcome
from backup_drills.steps.plugin.needs import needs
from backup_drills.verdicts.repository import check_passes, retention_conforms, snapshot_fresh


@then("borg check passes")
@needs("borg")
def _(remote: Remote, job: Job) -> None:
    """``borg check`` of the job's repository and its archives passes (waits a bounded time for
    the lock; a lock it cannot take is COULD NOT RUN, not a verdict)."""
    require(check_passes(remote, job))


@then("the newest borg archive is younger than the RPO")
@needs("borg")
def _(remote: Remote, job: Job) -> None:
    """The newest archive of the repository, as found, is younger than the job's ``rpo``."""
    require(snapshot_fresh(remote, job))


@then("the borg archives keep what the retention policy promises, by borg prune's rules")
@needs("borg", "retention")
def _(remote: Remote, job: Job) -> None:
    """Nothing outlives the policy by ``borg prune``'s own rules in the host's local time (a
    missed night is the freshness scenario's), and ``borg prune --dry-run`` agrees."""
    require(retention_conforms(remote, job))


@when("I extract the newest borg archive into scratch", target_fixture="restored")
@needs("borg")
def _(remote: Remote, job: Job) -> RestoreOutcome:
    """``borg extract`` of the newest archive, as found, into labelled scratch, timed."""
    return RestoreDrill(remote, job).latest()
