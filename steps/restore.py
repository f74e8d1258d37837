"""Steps for restore.feature and mirror.feature: restores into scratch, compared on the host."""

from __future__ import annotations

from pytest_bdd import then, when

from drills import checks
from drills.drill import RestoreDrill, RestoreOutcome
from drills.evidence import EvidenceLog
from drills.inventory import Job, Samples
from drills.rclone import MirrorCheck, Rclone
from drills.transport import DrillCouldNotRun, Remote
from steps.plugin import require


def _samples(job: Job) -> Samples:
    if job.samples is None:
        raise DrillCouldNotRun(f"job {job.name} declares no samples (file, directory) to restore")
    return job.samples


@when("I restore the latest snapshot into scratch", target_fixture="restored")
def _(remote: Remote, job: Job) -> RestoreOutcome:
    return RestoreDrill(remote, job).restic_latest()


@when("I restore the job's sample file from the latest snapshot", target_fixture="restored")
def _(remote: Remote, job: Job) -> RestoreOutcome:
    return RestoreDrill(remote, job).restic_latest(_samples(job).file)


@when("I plant a canary and run the job's backup on demand", target_fixture="restored")
def _(remote: Remote, job: Job) -> RestoreOutcome:
    return RestoreDrill(remote, job).canary()


@when("I restore the job's sample file from the mirror into scratch", target_fixture="restored")
def _(remote: Remote, job: Job) -> RestoreOutcome:
    since = checks.mirror_since(remote, job)
    return RestoreDrill(remote, job).mirror_sample(_samples(job).file, True, since)


@when("I restore the job's sample directory from the mirror into scratch",
      target_fixture="restored")
def _(remote: Remote, job: Job) -> RestoreOutcome:
    since = checks.mirror_since(remote, job)
    return RestoreDrill(remote, job).mirror_sample(_samples(job).directory, False, since)


@then("the restored tree is byte-identical to the source")
@then("the restored file is byte-identical to the source")
@then("the canary comes back byte-exact from the new snapshot")
def _(restored: RestoreOutcome, job: Job, evidence: EvidenceLog) -> None:
    require(checks.restore_identical(restored), job, evidence)


@then("the restore finished within the job's RTO")
def _(restored: RestoreOutcome, job: Job, evidence: EvidenceLog) -> None:
    require(checks.within_rto(restored), job, evidence)


@when("I check the mirror one way against the source", target_fixture="mirror_check")
def _(remote: Remote, job: Job) -> MirrorCheck:
    return Rclone(remote, job).check_one_way()


@then("the mirror has no differences")
def _(mirror_check: MirrorCheck, remote: Remote, job: Job) -> None:
    require(checks.mirror_in_sync(mirror_check, remote, job))
