"""The retention verdicts' cross-checks: ``restic forget --dry-run --json`` and ``borg prune
--dry-run --list`` run through a real local:// shell, with the hostile corpus in every value a
host or an inventory supplies (repository, source, host name, archive glob). Nothing runs (a
``pwned`` program on PATH would leave a canary), each value arrives as one intact argument, and
the tool's answer (recorded by stand-ins for restic and borg) is judged: agreement passes, a
disagreement names both lists."""

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup_drills.adapters.borg import Borg
from backup_drills.adapters.restic import Restic, Snapshot
from backup_drills.core.retention import Policy
from backup_drills.core.transport import DrillCouldNotRun, Remote
from backup_drills.inventory.schema import Host, Job
from backup_drills.verdicts import repository
from tests.unit.test_hostile_corpus import CORPUS

TOOL = """#!/bin/sh
printf '%s\\0' "${0##*/}" "$@" > "$CALLS/${0##*/}"
cat "$ANSWERS/${0##*/}"
"""


def _job(kind: str, value: str, policy: Policy) -> Job:
    return Job.model_construct(name="j", host="h", kind=kind, repository=f"/r{value}", source=f"/s{value}",
                               retention=policy)


@pytest.fixture
def host(tmp_path, monkeypatch):
    tools, calls, answers = tmp_path / "bin", tmp_path / "calls", tmp_path / "answers"
    for d in (tools, calls, answers):
        d.mkdir()
    (tools / "pwned").write_text(f"#!/bin/sh\ntouch '{tmp_path / 'PWNED'}'\n")
    for program in ("restic", "borg"):
        (tools / program).write_text(TOOL)
    for program in tools.iterdir():
        program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:{os.environ['PATH']}")
    monkeypatch.setenv("CALLS", str(calls))
    monkeypatch.setenv("ANSWERS", str(answers))
    remote = Remote(Host(name="h", transport="local://", scratch=str(tmp_path / "scratch")), timeout=60)
    return remote, calls, answers, tmp_path / "PWNED"


def _argv(calls: Path, program: str) -> list[str]:
    return [w.decode("utf-8", "surrogateescape") for w in (calls / program).read_bytes().split(b"\0")[:-1]]


DAYS = [datetime(2026, 11, 29, 5, tzinfo=UTC) - timedelta(days=n) for n in (0, 1, 3, 4)]  # a missed night


@pytest.mark.parametrize("value", CORPUS.values(), ids=CORPUS.keys())
def test_restic_forget_dry_run(host, value, monkeypatch):
    remote, calls, answers, canary = host
    snaps = [Snapshot(id=f"{n:x}" * 64, short_id=f"{n:x}" * 8, time=t, hostname=value, paths=[f"/s{value}"])
             for n, t in enumerate(DAYS, start=10)]
    monkeypatch.setattr(repository, "BACKUPS", lambda remote, job: snaps)
    monkeypatch.setattr(repository, "RETENTION_STAMPS",
                        lambda remote, job: Restic(remote, job).retention_stamps(snaps))
    monkeypatch.setattr(Restic, "hostname", value)
    (answers / "restic").write_text(json.dumps([{"keep": [{"short_id": s.short_id} for s in snaps]}]))
    job = _job("restic", value, Policy(daily=7))
    verdict = repository.retention_conforms(remote, job)
    assert verdict.ok, verdict.message
    assert "daily: 4 of 7, 2026-11-25 to 2026-11-29 (no snapshot on 2026-11-27)" in verdict.message
    words = _argv(calls, "restic")
    assert words[words.index("-r") + 1] == f"/r{value}"
    assert words[words.index("--host") + 1] == value
    assert words[words.index("--path") + 1] == f"/s{value}"
    assert {"--no-lock", "forget", "--dry-run", "--json", "--keep-daily=7"} <= set(words)
    assert not canary.exists()
    (answers / "restic").write_text(json.dumps([{"keep": [{"short_id": s.short_id} for s in snaps[:2]]}]))
    verdict = repository.retention_conforms(remote, job)
    assert not verdict.ok
    assert "restic forget --dry-run keeps other snapshots than the rules computed here" in verdict.message
    assert f"kept here only: snapshot {snaps[2].short_id} (2026-11-26 05:00 UTC), snapshot " \
           f"{snaps[3].short_id} (2026-11-25 05:00 UTC); kept by restic forget --dry-run only: none" \
        in verdict.message


@pytest.mark.parametrize("value", CORPUS.values(), ids=CORPUS.keys())
def test_borg_prune_dry_run(host, value, monkeypatch):
    remote, calls, answers, canary = host
    names = [f"a{n}{value}" for n in range(len(DAYS))]
    archives = [Snapshot(id=f"{n:x}" * 64, short_id=names[n], time=t, hostname="h", paths=["/s"])
                for n, t in enumerate(DAYS)]
    monkeypatch.setattr(repository, "BACKUPS", lambda remote, job: archives)
    monkeypatch.setattr(Borg, "local_times",
                        lambda self: {a.short_id: a.time.replace(tzinfo=None) for a in archives})
    monkeypatch.setattr(repository, "RETENTION_STAMPS",
                        lambda remote, job: Borg(remote, job).retention_stamps(archives))
    lines = [f"Keeping archive (rule: daily #{n + 1}):            x   Sun, 2026-11-29 05:00:00 [{a.id}]"
             for n, a in enumerate(archives)]
    (answers / "borg").write_text("\n".join(lines) + "\n")
    job = _job("borg", value, Policy(daily=7, match_archives=f"a*{value}"))
    verdict = repository.retention_conforms(remote, job)
    assert verdict.ok, verdict.message
    words = _argv(calls, "borg")
    assert words[-1] == f"/r{value}"
    assert f"--glob-archives=a*{value}" in words
    assert {"prune", "--dry-run", "--list", "--keep-daily=7"} <= set(words)
    assert not canary.exists()
    (answers / "borg").write_text("\n".join(lines[:3]) + "\n")
    verdict = repository.retention_conforms(remote, job)
    assert not verdict.ok
    assert "kept by borg prune --dry-run only: none" in verdict.message
    assert f"kept here only: archive {names[3]} (2026-11-25 05:00)" in verdict.message


def test_a_rule_borg_has_not_is_refused_naming_it(host, monkeypatch):
    remote = host[0]
    monkeypatch.setattr(repository, "BACKUPS", lambda remote, job: [])
    monkeypatch.setattr(repository, "RETENTION_STAMPS",
                        lambda remote, job: Borg(remote, job).retention_stamps([]))
    job = _job("borg", "x", Policy(daily=7, within_daily="7d"))
    with pytest.raises(DrillCouldNotRun, match="within_daily is restic's; borg prune has no such rule"):
        repository.retention_conforms(remote, job)

