"""Steps for repository.feature: restic integrity, freshness and locks."""

from __future__ import annotations

import pytest
from pytest_bdd import then

from backup_drills.core.backends import require_answering
from backup_drills.core.coverage import SliceRead, rotation_of, slices_read
from backup_drills.core.transport import Remote
from backup_drills.inventory.schema import Job
from backup_drills.outcomes import require
from backup_drills.steps.plugin.needs import needs
from backup_drills.steps.plugin.options import evidence_dir
from backup_drills.verdicts.repository import (
    check_passes,
    every_pack_read,
    no_stale_locks,
    nothing_vanished,
    read_check,
    retention_conforms,
    sample_listed,
    snapshot_fresh,
    snapshot_not_shrunk,
)


@then("restic check passes")
@needs("restic")
def _(remote: Remote, job: Job) -> None:
    """``restic check`` of the job's repository passes (read-only, ``--no-lock``)."""
    require(check_passes(remote, job))


@then("a restic check of the job's read-data subset passes")
@needs("restic")
def _(remote: Remote, job: Job, read_history: list[SliceRead]) -> None:
    """``restic check --read-data-subset`` (the job's ``read_data_subset``) passes; a rotation
    ``*/t`` reads this ISO week's slice (all of them when no earlier drill of it passed) and
    records the slices read."""
    require(read_check(remote, job, read_history))


@then("every pack of the repository was read within the job's rotation")
@needs("restic", "read_rotation")
def _(remote: Remote, job: Job, read_history: list[SliceRead]) -> None:
    """Earlier drills' evidence and this run's read check (taken once per run: the scenario
    above's, or taken here when it is not run) show a passing read of every slice of the
    rotation ``*/t`` within the last t weeks (could not run while the repository does not
    answer: this run could not read its slice)."""
    require_answering(remote, job)
    now_read = read_check(remote, job, read_history).evidence.get("read_data")
    require(every_pack_read(job, job.host, read_history, now_read))


@pytest.fixture
def read_history(job: Job, pytestconfig: pytest.Config) -> list[SliceRead]:
    """Passed reads of the job's rotation recorded by earlier drills (the evidence folder)."""
    slices = rotation_of(job.read_data_subset)
    return [] if slices is None else slices_read(evidence_dir(pytestconfig), job.id, slices)


@then("the latest snapshot of the job's host and path is younger than the RPO")
@needs("restic")
def _(remote: Remote, job: Job) -> None:
    """The newest snapshot of the job's host and ``source`` is younger than its ``rpo``."""
    require(snapshot_fresh(remote, job))


@then("the repository has no stale locks")
@needs("restic")
def _(remote: Remote, job: Job) -> None:
    """No lock older than ``stale_lock_age`` or left by a dead process."""
    require(no_stale_locks(remote, job))


@then("the job's snapshots keep what its retention policy promises, and nothing more")
@needs("restic", "retention")
def _(remote: Remote, job: Job) -> None:
    """No snapshot outlives the job's `retention` by restic's own rules (a missed night is the
    freshness scenario's), and restic's `forget --dry-run` agrees; violations name snapshots."""
    require(retention_conforms(remote, job))


@then("restic find lists the job's sample file in the latest snapshot")
@needs("restic")
def _(remote: Remote, job: Job) -> None:
    """`restic find` locates `samples.file` in the newest snapshot, as a file of the size the
    source file has."""
    require(sample_listed(remote, job))


@then("no file still in the source vanished between the two newest snapshots")
@needs("restic")
def _(remote: Remote, job: Job) -> None:
    """Every file `restic diff` lists as removed between the two newest snapshots is gone from
    the source too (or changed after the newest one); excludes of the job are allowed."""
    require(nothing_vanished(remote, job))


@then("the newest snapshot is not much smaller than the ones before it")
@needs("restic")
def _(remote: Remote, job: Job) -> None:
    """The newest snapshot holds at least `shrink_ratio` (default 50%) of the median file count
    and size of the up to seven snapshots before it."""
    require(snapshot_not_shrunk(remote, job))
