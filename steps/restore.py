"""Steps for restore.feature and mirror.feature: restores into scratch, compared on the host."""

from __future__ import annotations

import pytest
from pytest_bdd import then, when

from backup_drills.adapters.rclone import MirrorCheck
from backup_drills.adapters.tool import Mirrors, capable, tool_for
from backup_drills.core.backends import require_answering
from backup_drills.core.restore_rotation import EVIDENCE_KEY, RestoreProof, history
from backup_drills.core.transport import DrillCouldNotRun, Remote
from backup_drills.inventory.schema import Job, Samples
from backup_drills.outcomes import require
from backup_drills.restores.rotation import RotationDrill, RotationOutcome
from backup_drills.restores.trees import RestoreDrill, RestoreOutcome
from backup_drills.steps.plugin.needs import needs
from backup_drills.steps.plugin.options import evidence_dir
from backup_drills.verdicts.restore import (
    every_file_restored,
    mirror_in_sync,
    mirror_since,
    restore_identical,
    rotation_restored,
)
from backup_drills.verdicts.verdict import Timed, within_rto


def _samples(job: Job) -> Samples:
    if job.samples is None:
        raise DrillCouldNotRun(f"job {job.name} declares no samples (file, directory) to restore")
    return job.samples


@when("I restore the latest snapshot into scratch", target_fixture="restored")
@needs("restic")
def _(remote: Remote, job: Job) -> RestoreOutcome:
    """Restore the newest snapshot of ``source`` into labelled scratch, timed."""
    return RestoreDrill(remote, job).latest()


@when("I restore the job's sample file from the latest snapshot", target_fixture="restored")
@needs("restic")
def _(remote: Remote, job: Job) -> RestoreOutcome:
    """Restore ``samples.file`` alone from the newest snapshot into scratch."""
    return RestoreDrill(remote, job).latest(_samples(job).file)


@when("I plant a canary and run the job's backup on demand", target_fixture="restored")
@needs("restic")
def _(remote: Remote, job: Job) -> RestoreOutcome:
    """Write a unique canary into ``source``, start the job's service, restore the canary."""
    return RestoreDrill(remote, job).canary()


@when("I restore the job's sample file from the mirror into scratch", target_fixture="restored")
@needs("rclone_mirror")
def _(remote: Remote, job: Job) -> RestoreOutcome:
    """Copy ``samples.file`` back from the mirror ``destination`` into scratch."""
    since = mirror_since(remote, job)
    return RestoreDrill(remote, job).mirror_sample(_samples(job).file, True, since)


@when("I restore the job's sample directory from the mirror into scratch",
      target_fixture="restored")
@needs("rclone_mirror")
def _(remote: Remote, job: Job) -> RestoreOutcome:
    """Copy ``samples.directory`` back from the mirror into scratch."""
    since = mirror_since(remote, job)
    return RestoreDrill(remote, job).mirror_sample(_samples(job).directory, False, since)


@when("I restore the whole mirror to an alternate root in scratch", target_fixture="restored")
@needs("rclone_mirror")
def _(remote: Remote, job: Job) -> RestoreOutcome:
    """Copy all of ``destination`` back into scratch (refused when scratch lacks the room)."""
    return RestoreDrill(remote, job).mirror_full(mirror_since(remote, job))


@when("I restore the job's sample directory from the oldest snapshot by its ID, verified by restic",
      target_fixture="restored")
@needs("restic")
def _(remote: Remote, job: Job) -> RestoreOutcome:
    """Restore `samples.directory` of the oldest kept snapshot (`restic restore <id> --verify`)."""
    return RestoreDrill(remote, job).restic_oldest(_samples(job).directory)


@then("every file the snapshot lists came back with its size")
@then("the restored tree is byte-identical to the source")
@then("the restored file is byte-identical to the source")
@then("the canary comes back byte-exact from the new snapshot")
def _(restored: RestoreOutcome, job: Job) -> None:
    """Every restored file hashes as its source (files changed since the backup are reported)."""
    require(restore_identical(restored))


@then("the restore finished within the job's RTO")
def _(restored: Timed, job: Job) -> None:
    """Restore plus verification took no longer than the job's ``rto``; records the time."""
    require(within_rto(restored))


@when("I check the mirror one way against the source", target_fixture="mirror_check")
@needs("rclone_mirror")
def _(remote: Remote, job: Job) -> MirrorCheck:
    """Run ``rclone check --one-way`` of ``source`` against ``destination``, for files last
    modified before the mirror's last run started (from its marker)."""
    mirror: Mirrors = capable(tool_for(remote, job), Mirrors, "keeps no mirror")
    return mirror.check_one_way(mirror_since(remote, job))


@then("the mirror has no differences")
@needs("rclone_mirror")
def _(mirror_check: MirrorCheck, remote: Remote, job: Job) -> None:
    """The one-way check found no missing or differing file."""
    require(mirror_in_sync(mirror_check, remote, job))


@pytest.fixture
def restore_history(job: Job, pytestconfig: pytest.Config) -> list[RestoreProof]:
    """Restores of the job's rotation recorded by earlier drills (the evidence folder)."""
    slices = job.restore_rotation
    return [] if slices is None else history(evidence_dir(pytestconfig), job.id, slices)


@when("I restore the slice of the job's restore rotation due now and a random sample into scratch",
      target_fixture="rotated")
@needs("restore_rotation")
def _(remote: Remote, job: Job, restore_history: list[RestoreProof]) -> RotationOutcome:
    """List the latest snapshot's files, restore the slice whose last passing restore is oldest
    and a random sample of the others, within ``restore_budget`` (a slice over it is refused
    before anything is restored); once per run and job (``rotation_of_run``)."""
    return rotation_of_run(remote, job, restore_history)


def rotation_of_run(remote: Remote, job: Job, restore_history: list[RestoreProof]) -> RotationOutcome:
    """The run's restore of the job's rotation, taken once (``DrillRun.once``): the slice
    scenario and the coverage scenario judge the same restore whichever runs first or alone (a
    worker that runs only one of them takes it there), never what another scenario recorded."""
    return remote.drill_run.once("restore rotation", job.id,
                                 lambda: RotationDrill(remote, job, restore_history).run())


@then("the slice and the sample are byte-identical to the source")
def _(rotated: RotationOutcome, job: Job) -> None:
    """Every restored file is what the snapshot lists and hashes as its source (a file changed
    since the snapshot is reported); records the slice, its files and the fraction proven."""
    require(rotation_restored(rotated))


@then("every file was restored within the job's restore rotation")
@needs("restore_rotation")
def _(remote: Remote, job: Job, restore_history: list[RestoreProof]) -> None:
    """Earlier drills' evidence and this run's restore of its slice (taken once per run: the
    slice scenario's, or taken here when it is not run) show an identical restore of every slice
    of the rotation ``*/t`` within the last t weeks; else the slices and when each was last
    proven."""
    require_answering(remote, job)
    now_entry = rotation_of_run(remote, job, restore_history).evidence()[EVIDENCE_KEY]
    require(every_file_restored(job, job.host, restore_history, now_entry))
