"""Steps for credentials.feature and endpoints.feature: what a backup exposes, and to whom."""

from __future__ import annotations

from pytest_bdd import then

from backup_drills.core.transport import Remote
from backup_drills.inventory.schema import Job
from backup_drills.outcomes import require
from backup_drills.steps.plugin.needs import needs
from backup_drills.verdicts.exposure import credentials_private, endpoints_answer


@then("the host's credentials file is readable by its owner alone")
@needs("credentials")
def _(remote: Remote, job: Job) -> None:
    """The job's credentials env file (its own `credentials_env`, else the host's) and its
    password file (`password_file`, or the `RESTIC_PASSWORD_FILE` the env file names) exist,
    belong to the host's `credentials_owner` (root by default) and have mode 0600 or stricter."""
    require(credentials_private(remote, job))


@then("every endpoint of the job answers with its expected status, without credentials")
@needs("endpoints")
def _(remote: Remote, job: Job) -> None:
    """Each of the job's `endpoints`, asked from its host with curl and no credentials, answers
    the expected HTTP status (an S3 API 403, a web UI 200)."""
    require(endpoints_answer(remote, job))
