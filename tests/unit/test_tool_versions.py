"""Both generations of the tools the lab runs (Debian 12: restic 0.14, systemd 252; Debian 13:
restic 0.18, systemd 257), parsed by the adapters from outputs recorded on the lab's motoko and
batou (``tests/unit/recorded/``). The remote is a stand-in that replays those outputs: the
adapters' parsing is what is under test here; the lab's whole drills run the tools for real."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from backup_drills.adapters.restic import Restic, Snapshot
from backup_drills.adapters.systemd import read_service, read_timer
from backup_drills.core.transport import DrillCouldNotRun, Result
from backup_drills.inventory.schema import Host, Job

RECORDED = Path(__file__).parent / "recorded"
RESTICS = ["restic-0.14", "restic-0.18"]
SYSTEMDS = ["systemd-252", "systemd-257"]


class Replay:
    """A host that answers each command with a recorded output: ``{word: (file, exit)}``, the
    first word of the command found in it chooses the answer."""

    name = "motoko"

    def __init__(self, folder: Path, answers: dict[str, tuple[str, int]]) -> None:
        self.host = Host(name="motoko", transport="local://")
        self.folder, self.answers = folder, answers

    def with_credentials(self, words, job=None):
        return " ".join(words)

    def run(self, script, timeout=None, check=False, privileged=True, progress=None):
        for word, (file, status) in self.answers.items():
            if word in script:
                text = (self.folder / file).read_text() if file else ""
                out, err = (text, "") if status == 0 else ("", text)
                return Result("motoko", script, status, out.encode(), err, 0.1)
        return Result("motoko", script, 0, b"motoko\n", "", 0.0)


def restic(version: str, **answers: tuple[str, int]) -> Restic:
    job = Job.model_validate({"name": "flux-backup", "host": "motoko", "kind": "restic",
                              "source": "/flux", "repository": "s3:http://objectstore:8333/r",
                              "rpo": "26h", "rto": "15m"})
    return Restic(Replay(RECORDED / version, answers), job)  # type: ignore[arg-type]


@pytest.mark.parametrize("version", RESTICS)
def test_snapshots_ls_stats_find_and_diff_parse_in_both_versions(version):
    snapshots = restic(version, snapshots=("snapshots.json", 0)).snapshots()
    assert len(snapshots) == 2
    assert snapshots[0].time < snapshots[1].time
    assert all(s.paths == ["/flux"] for s in snapshots)
    newest = snapshots[1]
    listed = restic(version, ls=("ls.json", 0)).ls(newest, "/flux/active/project-alpha/src")
    assert listed
    assert all(p.startswith("/flux/active/project-alpha/src/") for p in listed)
    size, files = restic(version, stats=("stats.json", 0)).restore_stats(newest)
    assert size > 10_000_000
    assert files > 2000
    found = restic(version, find=("find.json", 0)).find(newest, "/x")
    assert found[0]["type"] == "file"
    changes = restic(version, diff=("diff.txt", 0)).diff(snapshots[0], newest)
    assert ("+", "/flux/.drill-canary/") in changes


@pytest.mark.parametrize("version", RESTICS)
def test_check_passes_and_a_wrong_password_could_not_run_in_both_versions(version):
    exit_status = int((RECORDED / version / "check-wrong-password.txt").read_text().split()[-1])
    assert exit_status == {"restic-0.14": 1, "restic-0.18": 12}[version]
    assert restic(version, check=("check.txt", 0)).check().passed
    with pytest.raises(DrillCouldNotRun, match="wrong password or no key found"):
        restic(version, check=("check-wrong-password.txt", exit_status)).check()


def test_a_snapshot_of_restic_0_18_keeps_its_summary_out_of_the_way():
    doc = json.loads((RECORDED / "restic-0.18" / "snapshots.json").read_text())[-1]
    assert "summary" in doc
    assert Snapshot.model_validate(doc).short_id == doc["short_id"]


@pytest.mark.parametrize("version", SYSTEMDS)
def test_timers_and_services_read_as_epoch_times_in_both_versions(version):
    host = Replay(RECORDED / version, {"list-timers": ("list-timers.json", 0),
                                       "flux-backup.timer": ("show-timer.txt", 0),
                                       "flux-backup.service": ("show-service.txt", 0)})
    timer = read_timer(host, "flux-backup.timer")  # type: ignore[arg-type]
    assert timer.loaded
    assert timer.enabled
    assert timer.active
    assert timer.next_run == datetime(2026, 11, 30, 5, 0, tzinfo=UTC)
    assert timer.on_calendar == "*-*-* 05:00:00"
    service = read_service(host, "flux-backup.service")  # type: ignore[arg-type]
    assert service.succeeded
    assert service.last_exit is not None
    assert service.last_exit.year == 2026
