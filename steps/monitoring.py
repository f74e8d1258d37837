"""Steps for cron.feature and metrics.feature: cron entries and the job's backup metrics."""

from __future__ import annotations

from pytest_bdd import then

from backup_drills.core.transport import Remote
from backup_drills.inventory.schema import Job
from backup_drills.outcomes import require
from backup_drills.steps.plugin.needs import needs
from backup_drills.verdicts.monitoring import (
    cron_daemon_runs,
    cron_entry_matches,
    metrics_duration_bounded,
    metrics_fresh,
    metrics_report_success,
)


@then("the cron daemon is running")
@needs("cron")
def _(remote: Remote, job: Job) -> None:
    """A `cron` (or `crond`) process runs on the job's host."""
    require(cron_daemon_runs(remote, job))


@then("the job's cron entry runs its command on the declared schedule")
@needs("cron")
def _(remote: Remote, job: Job) -> None:
    """A line of `cron.file` runs `cron.command` on `cron.schedule` (`@daily` = `0 0 * * *`)."""
    require(cron_entry_matches(remote, job))


@then("the job's metrics report its last backup succeeded")
@needs("metrics")
def _(remote: Remote, job: Job) -> None:
    """The `metrics.success` metric (default `backup_success`) with `metrics.labels` is 1."""
    require(metrics_report_success(remote, job))


@then("the job's metrics show a backup younger than its RPO")
@needs("metrics")
def _(remote: Remote, job: Job) -> None:
    """`metrics.timestamp` (default `backup_timestamp_seconds`) is no older than the `rpo`."""
    require(metrics_fresh(remote, job))


@then("the job's metrics show its last backup took no longer than its maximum duration")
@needs("metrics_duration")
def _(remote: Remote, job: Job) -> None:
    """`metrics.duration` (default `backup_duration_seconds`) is at most `metrics.max_duration`."""
    require(metrics_duration_bounded(remote, job))
