"""Steps for credentials.feature and endpoints.feature: what a backup exposes, and to whom."""

from __future__ import annotations

from pytest_bdd import then

from drills import checks
from drills.inventory import Job
from drills.transport import Remote
from steps.needs import needs
from steps.plugin import require


@then("the host's credentials file is readable by its owner alone")
@needs("credentials")
def _(remote: Remote, job: Job) -> None:
    """The host's `credentials_env` exists, belongs to `credentials_owner` (root by default) and
    has mode 0600 or stricter."""
    require(checks.credentials_private(remote, job))


@then("every endpoint of the job answers with its expected status, without credentials")
@needs("endpoints")
def _(remote: Remote, job: Job) -> None:
    """Each of the job's `endpoints`, asked from its host with curl and no credentials, answers
    the expected HTTP status (an S3 API 403, a web UI 200)."""
    require(checks.endpoints_answer(remote, job))
