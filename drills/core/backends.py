"""One up-front probe per backend (restic repository, rclone bucket) of every drilled job, from
the job's host, with a short limit: a backend that is unreachable, hung, refusing or refusing
the credentials is COULD NOT RUN for every later command that names it, so a hung object store
costs about a minute, not an hour, and the rest of the run goes on.

    >>> backends_of(Job.model_validate({"name": "m", "host": "akira", "kind": "rclone-mirror",
    ...     "rpo": "1d", "source": "/space", "destination": "b2mirror:space-mirror/daily"}))
    [Backend(kind='bucket', address='b2mirror:space-mirror')]
    >>> from backup_drills.core.tool_errors import UNREACHABLE
    >>> classify("dial tcp 127.0.0.1:1: connect: connection refused", 1, UNREACHABLE)
    'refused the connection'

Each backend is probed by its tool (``BackupTool.probe_words``, ``backup_drills.adapters.tool``). A
repository the tool opens but finds damaged (a segment missing, a checksum that fails) is not
down: its scenarios run and find the damage, NOT COMPLIANT (by the tool's own words, its
``ERRORS`` table). Each probe is the cheapest command that proves the repository opens, as the
tool's ``probe_words`` say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from backup_drills.adapters.rclone import Rclone
from backup_drills.adapters.tool import BackupTool, every_tool, tool_class
from backup_drills.core.tool_errors import DAMAGE, ErrorTable, judge, named
from backup_drills.core.transport import CommandTimedOut, DrillCouldNotRun, Remote, backend_down, down_reason
from backup_drills.core.unit_credentials import loaded_names
from backup_drills.inventory.credentials import own_credentials
from backup_drills.inventory.schema import Job

PROBE_LIMIT = 45.0  # seconds: restic and rclone retry a silent backend for far longer

@dataclass(frozen=True)
class Backend:
    kind: str  # the ``backend`` of the tool that reads it: "restic repository", "bucket"
    address: str

    def tool(self) -> type[BackupTool]:
        """The tool whose probe this backend gets."""
        return {tool.backend: tool for tool in every_tool()}[self.kind]


def backends_of(job: Job) -> list[Backend]:
    """The repository and buckets a job's drills read (a bucket is ``remote:bucket``, read
    with rclone)."""
    found = [Backend(tool_class(job).backend, job.repository)] if job.repository else []
    for path in (job.destination, job.dump.remote if job.dump else None):
        if path:
            name, _, rest = path.partition(":")
            found.append(Backend(Rclone.backend, f"{name}:{rest.strip('/').split('/')[0]}"))
    return found


def classify(output: str, exit_status: int, table: ErrorTable) -> str:
    """What a failed probe's output means, in the operator's words (the tool's ``table``'s
    findings); else what the tool's words mean, with its own lines that name the problem (not
    its traceback, footer or table: a failed passcommand's own error, say); else those lines."""
    meaning = next((means for says, means in table.findings if re.search(says, output, re.IGNORECASE)),
                   None)
    lines = named(output, table, lines=3, chars=300, attached=False).replace("\n", "; ")
    if meaning is None and (judgement := judge(output, table)) is not None:  # with the tool's lines
        meaning = f"{'is damaged' if judgement.kind == DAMAGE else 'failed the probe'}: " \
                  f"{judgement.means}{f': {lines}' if lines else ''}"
    return meaning or f"failed the probe (exit {exit_status}: {lines or 'no output'})"


def probe(remote: Remote, backend: Backend, limit: float = PROBE_LIMIT, job: Job | None = None) -> str | None:
    """None when the backend answers from ``remote`` within ``limit`` seconds (with ``job``'s
    credentials), else why not."""
    words = backend.tool().probe_words(backend.address, limit, job)
    try:
        answer = remote.run(remote.with_credentials(words, job), timeout=limit)
    except CommandTimedOut:
        return f"did not answer within {limit:.0f}s (accepts connections but hangs, or is slow)"
    output = f"{answer.stderr}\n{answer.text}"
    table = backend.tool().ERRORS
    judgement = None if answer.ok else judge(output, table)
    if answer.ok or (judgement is not None and judgement.kind == DAMAGE):
        return None  # it opens; damage is its scenarios' finding (NOT COMPLIANT), not a down backend
    return classify(output, answer.exit_status, table)


def probe_all(remote: Remote, jobs: list[Job], limit: float = PROBE_LIMIT) -> dict[str, str]:
    """Probe each distinct backend of ``jobs`` (all on ``remote``'s host) once; mark the failed
    ones down for this host and return {address: finding}."""
    failed: dict[str, str] = {}
    seen: set[Backend] = set()
    for job in jobs:
        for backend in backends_of(job):
            if backend in seen:
                continue
            seen.add(backend)
            try:
                why = probe(remote, backend, limit, job)
            except DrillCouldNotRun as exc:  # the credentials could not be loaded, say
                why = str(exc)
            if why is not None:
                loads = loaded_names(remote, job.credentials_unit) if job.credentials_unit else ()
                named = own_credentials(job, loads)  # the unit's credentials by name, never value
                told = getattr(backend.tool(), "credentials_named", None)  # a tool's own (borgmatic's)
                named = (told(remote.name, job) if told else "") + named
                failed[backend.address] = f"{backend.kind} {backend.address} {why}{named}"
                backend_down(remote, backend.address, failed[backend.address]
                             + " (up-front probe; its scenarios could not run)")
    return failed


def require_answering(remote: Remote, job: Job) -> None:
    """Before the drill acts for ``job`` (an on-demand backup writes to its backends): refuse
    when one of them failed its probe, rather than start a backup that would hang."""
    for backend in backends_of(job):
        why = down_reason(remote, backend.address)
        if why is not None:
            raise DrillCouldNotRun(f"host {remote.name}, job {job.name}: {why}")
