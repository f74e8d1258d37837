"""Verdicts on exposure: a private credentials file, endpoints answering as declared."""

from __future__ import annotations

import shlex

from drills.core.transport import Remote
from drills.inventory.schema import Job
from drills.verdicts.verdict import Verdict, who


def credentials_private(remote: Remote, job: Job) -> Verdict:
    """The host's credentials file exists, belongs to ``credentials_owner`` and is readable by
    its owner alone (mode 0600 or stricter), as the runbook requires."""
    path, owner = remote.host.credentials_env, remote.host.credentials_owner
    if path is None:
        return Verdict(False, f"{who(remote, job)}: the host declares no credentials_env")
    found = remote.run(f"stat -c '%a %U' {shlex.quote(path)}")
    if not found.ok:
        return Verdict(False, f"{who(remote, job)}: credentials file {path} is missing "
                              f"({found.tail(1)})")
    mode_text, user = found.text.split()
    mode = f"{int(mode_text, 8):04o}"
    problems = ([f"mode {mode} lets group or others in"] if int(mode_text, 8) & 0o077 else []) + (
        [f"owned by {user}, not {owner}"] if user != owner else [])
    return Verdict(not problems,
                   f"{who(remote, job)}: credentials file {path} is "
                   f"{'; '.join(problems) or f'mode {mode}, owned by {user}'}",
                   {"credentials_file": path, "mode": mode, "owner": user})


def endpoints_answer(remote: Remote, job: Job) -> Verdict:
    """Each of the job's endpoints, asked from the job's host without credentials, answers with
    its expected HTTP status (``000``: no answer within 10 s)."""
    problems, seen = [], {}
    for endpoint in job.endpoints or ():
        answer = remote.run(f"curl -s -o /dev/null -w '%{{http_code}}' --max-time 10 "
                            f"{shlex.quote(endpoint.url)}", timeout=30, privileged=False)
        status = answer.text.strip() or "000"
        seen[endpoint.url] = status
        if status != str(endpoint.status):
            problems.append(f"{endpoint.name or endpoint.url} ({endpoint.url}) answered {status}, "
                            f"expected {endpoint.status}")
    detail = "".join(f"\n  {p}" for p in problems)
    return Verdict(not problems, f"{who(remote, job)}: {len(seen) - len(problems)} of {len(seen)} "
                                 f"endpoint(s) answer as expected{detail}", {"endpoints": seen})
