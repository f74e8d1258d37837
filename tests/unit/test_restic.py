"""The restic adapter and the restore drill against a real local repository."""

import os
import subprocess
import time
from pathlib import Path

import pytest

from backup_drills.adapters.restic import Restic
from backup_drills.core.transport import DrillCouldNotRun, Remote
from backup_drills.inventory.schema import Host, Job
from backup_drills.outcomes import RestoreFailed
from backup_drills.restores.trees import RestoreDrill
from backup_drills.verdicts.repository import check_passes, no_stale_locks, snapshot_fresh
from backup_drills.verdicts.restore import restore_identical
from backup_drills.verdicts.verdict import within_rto

PASSWORD = "unit-test-password"


@pytest.fixture
def estate(tmp_path):
    """A source tree, a restic repository with one snapshot, a host whose env file holds the
    password, and the job that ties them."""
    source = tmp_path / "flux"
    (source / "active" / "deep").mkdir(parents=True)
    for index in range(50):
        (source / "active" / "deep" / f"f{index}.dat").write_bytes(os.urandom(1000 + index))
    (source / "naïve café.txt").write_text("odd name\n")
    os.symlink("naïve café.txt", source / "link")
    env = tmp_path / "creds.env"
    env.write_text(f"RESTIC_PASSWORD={PASSWORD}\n")
    env.chmod(0o600)
    repo = tmp_path / "repo"
    host = Host(
        name="runner", transport="local://", credentials_env=str(env), scratch=str(tmp_path / "scratch")
    )
    remote = Remote(host, timeout=120)
    job = Job.model_validate(
        {
            "name": "flux",
            "host": "runner",
            "kind": "restic",
            "source": str(source),
            "repository": str(repo),
            "rpo": "26h",
            "rto": "1h",
            "samples": {"file": "naïve café.txt", "directory": "active"},
        }
    )
    restic = Restic(remote, job)
    hostname = restic.hostname
    for words in (["init"], ["backup", str(source), "--host", hostname]):
        remote.run(remote.with_credentials(["restic", "-r", str(repo), *words]), check=True)
    return remote, job, restic, source, repo


def test_snapshots_check_and_restore_size(estate):
    remote, job, restic, source, _ = estate
    snapshot = restic.latest_snapshot()
    assert snapshot is not None
    assert snapshot.paths == [str(source)]
    assert restic.restore_size(snapshot) >= 50 * 1000
    assert check_passes(remote, job).ok
    assert check_passes(remote, job, "100%").ok
    assert snapshot_fresh(remote, job).ok


def test_find_reads_a_path_that_looks_like_an_option(estate):
    """restic find ends its options with ``--`` and still answers JSON (``--json`` placed before
    it): the sample file and a file named ``--json`` are found by their full paths."""
    remote, _, restic, source, repo = estate
    (source / "--json").write_text("an option's name\n")
    remote.run(remote.with_credentials(["restic", "-r", str(repo), "backup", str(source), "--host",
                                        restic.hostname]), check=True)
    snapshot = restic.latest_snapshot()
    assert snapshot is not None
    for name in ("naïve café.txt", "--json"):
        found = restic.find(snapshot, f"{source}/{name}")
        assert [match["path"] for match in found] == [f"{source}/{name}"]


def test_a_corrupt_data_pack_fails_the_read_data_check_only(estate):
    remote, job, _, _, repo = estate
    packs = sorted((repo / "data").rglob("*"), key=lambda p: p.stat().st_size if p.is_file() else 0)
    biggest = packs[-1]  # the data pack
    biggest.chmod(0o600)
    damaged = bytearray(biggest.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    biggest.write_bytes(bytes(damaged))
    assert check_passes(remote, job).ok
    verdict = check_passes(remote, job, "100%")
    assert not verdict.ok
    assert biggest.name[:8] in verdict.message


def holding_a_lock(restic, repo):
    """A ``restic backup --stdin`` that holds its lock until its stdin closes."""
    env = {**os.environ, "RESTIC_PASSWORD": PASSWORD}
    holder = subprocess.Popen(
        ["restic", "-r", str(repo), "backup", "--stdin"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        if restic.locks():
            break
        time.sleep(0.1)
    return holder


def test_a_lock_released_while_check_waits_is_taken_on_the_next_ask(estate, monkeypatch):
    _, _, restic, _, repo = estate
    holder = holding_a_lock(restic, repo)
    pauses = []

    def pause(seconds):  # the other run ends during check's first pause
        pauses.append(seconds)
        holder.stdin.close()
        holder.wait(timeout=60)

    monkeypatch.setattr("backup_drills.adapters.restic.sleep", pause)
    assert restic.check().passed
    assert pauses == [2.0]


def test_a_lock_held_through_the_asks_could_not_run_naming_the_repository(estate, monkeypatch):
    _, job, restic, _, repo = estate
    holder = holding_a_lock(restic, repo)
    pauses = []
    monkeypatch.setattr("backup_drills.adapters.restic.sleep", pauses.append)
    try:
        with pytest.raises(DrillCouldNotRun, match=f"job {job.name}: restic check could not lock "
                           f"{repo} within 5s .*already locked"):
            restic.check()
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    assert pauses == [2.0, 3.0]


def test_a_lock_left_by_a_killed_backup_is_stale(estate):
    remote, job, restic, _, repo = estate
    holder = holding_a_lock(restic, repo)
    holder.kill()
    holder.wait()
    holder.stdin.close()
    verdict = no_stale_locks(remote, job)
    assert not verdict.ok
    assert f"process {holder.pid} on" in verdict.message


def test_the_restore_drill_restores_and_compares(estate):
    remote, job, _, _, _ = estate
    outcome = RestoreDrill(remote, job).latest()
    assert outcome.comparison.identical, outcome.comparison.describe()
    assert outcome.comparison.compared >= 53
    assert within_rto(outcome).ok
    assert os.listdir(remote.host.scratch) == []


def test_the_oldest_snapshot_restores_a_name_that_is_not_utf8(estate):
    """restic's JSON prints each byte of a name that is not UTF-8 as U+FFFD; the restored file,
    named by its own bytes, still counts as restored (it was reported missing)."""
    remote, job, restic, source, repo = estate
    odd = os.fsencode(source / "active") + b"/\xff\xfe.bin"
    with open(odd, "wb") as handle:
        handle.write(b"not utf-8\n")
    remote.run(remote.with_credentials(["restic", "-r", str(repo), "backup", str(source), "--host",
                                        restic.hostname]), check=True)
    first = restic.snapshots()[0]
    remote.run(remote.with_credentials(["restic", "-r", str(repo), "forget", first.id]), check=True)
    outcome = RestoreDrill(remote, job).restic_oldest("active")
    assert outcome.comparison.identical, outcome.comparison.describe()
    assert outcome.comparison.compared == 51  # the odd name and active/deep's 50 files


def test_the_oldest_snapshot_restores_a_sample_folder_of_subfolders_only(estate):
    """The sample folder holds only subfolders (``active`` holds only ``deep``): every file of
    its whole subtree is listed, restored and compared (restic ls without ``--recursive``
    lists only the folder's direct children: 0 files, a healthy host judged NOT COMPLIANT)."""
    remote, job, _, source, _ = estate
    assert [entry.name for entry in (source / "active").iterdir()] == ["deep"]
    outcome = RestoreDrill(remote, job).restic_oldest("active")
    verdict = restore_identical(outcome)
    assert verdict.ok, verdict.message
    assert outcome.comparison.compared == 50
    assert outcome.comparison.compared_bytes == sum(1000 + index for index in range(50))


def test_a_sample_folder_the_oldest_snapshot_lacks_fails_and_one_without_files_could_not_run(estate):
    """A sample folder absent from the oldest kept snapshot is NOT COMPLIANT (it cannot be
    restored from it); present but holding no file (only an empty subfolder) the drill has
    nothing to compare: COULD NOT RUN, naming the folder, never a vacuous green or red."""
    remote, job, restic, source, repo = estate
    (source / "empty" / "nothing").mkdir(parents=True)
    empty = job.model_copy(update={"samples": job.samples.model_copy(update={"directory": "empty"})})
    with pytest.raises(RestoreFailed, match=f"does not hold the sample directory {source}/empty"):
        RestoreDrill(remote, empty).restic_oldest("empty")
    remote.run(remote.with_credentials(["restic", "-r", str(repo), "backup", str(source), "--host",
                                        restic.hostname]), check=True)
    remote.run(remote.with_credentials(["restic", "-r", str(repo), "forget",
                                        restic.snapshots()[0].id]), check=True)
    later = Remote(remote.host, timeout=120)  # a run of its own: snapshots read as found again
    with pytest.raises(DrillCouldNotRun, match=f"sample directory {source}/empty holds no file "
                                               r"in snapshot [0-9a-f]{8} .*2 folder\(s\)"):
        RestoreDrill(later, empty).restic_oldest("empty")


def test_silent_corruption_of_the_source_is_named(estate):
    remote, job, _, source, _ = estate
    victim = source / "active" / "deep" / "f7.dat"
    stamp = victim.stat().st_mtime
    victim.write_bytes(b"bit rot")
    os.utime(victim, (stamp, stamp))
    verdict = restore_identical(RestoreDrill(remote, job).latest())
    assert not verdict.ok
    assert str(victim) in verdict.message


def test_a_single_file_restore_of_a_path_the_snapshot_lacks_is_missing(estate):
    remote, job, _, source, _ = estate
    (source / "new.txt").write_text("after")
    os.utime(source / "new.txt", (1, 1))  # looks older than the snapshot: must be in it
    outcome = RestoreDrill(remote, job).latest("new.txt")
    assert outcome.comparison.missing == ["new.txt"]


def test_scratch_inside_the_repository_is_refused(estate, tmp_path):
    remote, job, _, _, repo = estate
    inside = Remote(
        Host(
            name="runner",
            transport="local://",
            scratch=str(Path(repo) / "s"),
            credentials_env=remote.host.credentials_env,
        )
    )
    with pytest.raises(ValueError, match=r"refusing scratch .* it overlaps .*repo"):
        RestoreDrill(inside, job).latest("naïve café.txt")
