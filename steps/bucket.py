"""Steps for bucket.feature: the bucket's own controls, read through the S3 API from the runner
with the object store's auditor identity (no host is touched)."""

from __future__ import annotations

import pytest
from pytest_bdd import given, then

from backup_drills.core.run import DrillRun
from backup_drills.inventory.schema import Inventory, Job
from backup_drills.outcomes import require
from backup_drills.steps.plugin.fixtures import label_report
from backup_drills.steps.plugin.needs import needs
from backup_drills.verdicts.bucket import encrypted, lifecycle_keeps, locked, private, versioned


@given("the job's bucket is audited from the runner")
@needs("bucket")
def _(job: Job, inventory: Inventory, request: pytest.FixtureRequest) -> None:
    """Label the report (runbook, job, severity); the checks below ask the object store's S3
    API with its auditor identity, never the job's host or its backup credentials."""
    label_report(request.node, job, inventory)


@then("the job's bucket keeps object versions")
@needs("bucket")
def _(job: Job, drill: DrillRun) -> None:
    """Versioning is Enabled (and MFA delete, where declared)."""
    require(versioned(drill.buckets, job))


@then("the job's bucket locks new objects by default for at least the declared period")
@needs("bucket_lock")
def _(job: Job, drill: DrillRun) -> None:
    """Object lock is on with a default retention of the declared mode and at least its days."""
    require(locked(drill.buckets, job))


@then("no lifecycle rule of the job's bucket expires its backups sooner than the job keeps them")
@needs("bucket")
def _(job: Job, drill: DrillRun) -> None:
    """No enabled rule covering the job's prefix expires current or noncurrent versions sooner
    than ``bucket.keep_days`` (default: the reach of the job's retention policy)."""
    require(lifecycle_keeps(drill.buckets, job))


@then("the job's bucket grants nothing to anonymous users, and an anonymous request is refused")
@needs("bucket")
def _(job: Job, drill: DrillRun) -> None:
    """No policy statement or ACL grant for everyone; an unsigned listing and read are refused."""
    require(private(drill.buckets, job))


@then("the job's bucket encrypts new objects by default")
@needs("bucket_encryption")
def _(job: Job, drill: DrillRun) -> None:
    """A default encryption rule is set (declared ``encryption: required``)."""
    require(encrypted(drill.buckets, job))
