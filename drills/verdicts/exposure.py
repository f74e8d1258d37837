"""Verdicts on exposure: private credentials files, endpoints answering as declared.

The files judged are those a job's tool reads its credentials from: the env file (the job's own
``credentials_env``, else its host's), and the repository's password file (the job's
``password_file``, or the ``RESTIC_PASSWORD_FILE`` the env file names). Each must belong to the
host's ``credentials_owner`` and be readable by its owner alone. The drill reads their modes and
owners and the password file's path, never a value.
"""

from __future__ import annotations

import shlex

from backup_drills.core.transport import DrillCouldNotRun, Remote, script
from backup_drills.inventory.schema import Job
from backup_drills.verdicts.verdict import Verdict, who

MISSING = "No such file or directory"  # stat's own words (C locale) for a file that is not there


def credential_files(remote: Remote, job: Job) -> list[tuple[str, str, str | None]]:
    """What holds the job's credentials on its host, each with what it is and, for a password
    file the env file names, its mode and owner as the ``env-password-file`` helper read them
    (``"600 root"``, or ``"missing: ..."``; on a ``sudo: exact`` host the drilling user may not
    stat it itself): ``[("credentials file", "/etc/miket/storage-credentials.env", None),
    ("password file", "/etc/restic.pw", "600 root")]``."""
    env = job.credentials_env or remote.host.credentials_env
    found: list[tuple[str, str, str | None]] = [("credentials file", env, None)] if env else []
    if job.password_file is not None:
        return [*found, ("password file", job.password_file, None)]
    if env and not job.password_command:  # the job's command replaces it
        named = remote.run(script("env-password-file", env), timeout=30)
        if not named.ok:  # never a silent skip: the check would pass without its password file
            raise DrillCouldNotRun(f"{who(remote, job)}: could not read which password file the "
                                   f"credentials file {env} names: {named.tail(2)}")
        stat, _, path = named.stdout.decode("utf-8", errors="surrogateescape").partition("\n")
        if path:
            found.append(("password file", path, stat))
    return found


def credentials_private(remote: Remote, job: Job) -> Verdict:
    """Each file holding the job's credentials (``credential_files``) exists, belongs to
    ``credentials_owner`` and is readable by its owner alone (mode 0600 or stricter), as the
    runbook requires."""
    files, owner = credential_files(remote, job), remote.host.credentials_owner
    if not files:
        return Verdict(False, f"{who(remote, job)}: neither the job nor its host declares "
                              "credentials_env or password_file")
    said: list[str] = []
    facts: dict[str, str] = {}
    ok = True
    for what, path, stat in files:
        if not path.startswith("/"):
            said.append(f"{what} {path} is not an absolute path (the tool reads it relative to "
                        "wherever it runs)")
            ok = False
            continue
        if stat is None:
            found = remote.run(f"stat -c '%a %U' {shlex.quote(path)}")
            stat = found.text if found.ok else f"missing: {found.tail(1)}"
        if stat.startswith("missing: ") and MISSING not in stat:  # refused by sudo, unreadable...
            raise DrillCouldNotRun(f"{who(remote, job)}: could not read the mode and owner of the "
                                   f"{what} {path}: {stat.removeprefix('missing: ')}")
        if stat.startswith("missing: "):
            said.append(f"{what} {path} is missing ({stat.removeprefix('missing: ')})")
            ok = False
            continue
        mode_text, user = stat.split()
        mode = f"{int(mode_text, 8):04o}"
        problems = ([f"mode {mode} lets group or others in"] if int(mode_text, 8) & 0o077 else []) + (
            [f"owned by {user}, not {owner}"] if user != owner else [])
        ok = ok and not problems
        said.append(f"{what} {path} is {'; '.join(problems) or f'mode {mode}, owned by {user}'}")
        key = what.replace(" ", "_")
        facts |= {key: path, "mode": mode, "owner": user} if key == "credentials_file" else {
            key: path, f"{key}_mode": mode, f"{key}_owner": user}
    return Verdict(ok, f"{who(remote, job)}: {'; '.join(said)}", facts)


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
