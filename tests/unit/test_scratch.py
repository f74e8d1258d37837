import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from backup_drills.core.transport import DrillCouldNotRun, Remote
from backup_drills.inventory.schema import Host, Job
from backup_drills.restores.scratch import (
    RUNNER,
    ScratchRefused,
    ensure_space,
    free_bytes,
    inside_source,
    overlaps,
    protected_paths,
    refuse_overlap,
    resolve,
    scratch_dir,
    sweep,
)


def job(**changes) -> Job:
    base = {
        "name": "flux",
        "host": "h",
        "kind": "restic",
        "source": "/flux",
        "repository": "/srv/restic-repo",
        "rpo": "26h",
        "rto": "4h",
    }
    return Job.model_validate(base | changes)


def host(scratch: Path | str) -> Remote:
    """A local host whose scratch is taken as written: the inventory's loader refuses '..' and
    '/', and the check on the host must hold without it."""
    return Remote(Host.model_construct(name="h", transport="local://", scratch=str(scratch)))


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("/flux", "/flux", True),
        ("/flux/x", "/flux", True),
        ("/", "/flux", True),
        ("/flux2", "/flux", False),
        ("/var/tmp/s", "/flux", False),
    ],
)
def test_overlap(a, b, expected):
    assert overlaps(a, b) is expected


@pytest.fixture
def estate(tmp_path):
    """A source with a sample, a local repository, and a scratch folder beside them."""
    (tmp_path / "src" / "docs").mkdir(parents=True)
    (tmp_path / "src" / "docs" / "a.txt").write_text("a\n")
    (tmp_path / "repo").mkdir()
    (tmp_path / "scratch").mkdir()
    return tmp_path, job(source=str(tmp_path / "src"), repository=str(tmp_path / "repo"),
                         samples={"file": "docs/a.txt", "directory": "docs"})


def test_paths_are_resolved_on_the_host_in_one_command(tmp_path, local):
    (tmp_path / "real").mkdir()
    os.symlink(tmp_path / "real", tmp_path / "link")
    asked = [str(tmp_path / "link" / "x"), f"/{tmp_path}//a/../b", "/nonexistent/y/../z"]
    assert resolve(local, asked) == [str(tmp_path / "real" / "x"), f"{tmp_path}/b", "/nonexistent/z"]


def test_a_scratch_that_overlaps_nothing_is_made_and_removed(estate):
    tmp_path, protected = estate
    with scratch_dir(host(tmp_path / "scratch"), protected) as target:
        assert os.path.isdir(target)
    assert os.listdir(tmp_path / "scratch") == []


def test_a_scratch_that_is_a_symlink_into_the_source_is_refused_before_anything_is_written(estate):
    tmp_path, protected = estate
    os.symlink(tmp_path / "src" / "docs", tmp_path / "sneaky")
    with pytest.raises(DrillCouldNotRun) as refused, scratch_dir(host(tmp_path / "sneaky"), protected):
        pytest.fail("scratch was made")
    message = str(refused.value)
    assert message.startswith(f"host h, job flux: refusing scratch {tmp_path}/sneaky/drill-")
    assert f"(resolved: {tmp_path}/src/docs/drill-" in message
    assert f"overlaps the source {tmp_path}/src, which the drill protects" in message
    assert sorted(os.listdir(tmp_path / "src" / "docs")) == ["a.txt"]


@pytest.mark.parametrize(
    ("target", "what"),
    [("{tmp}/scratch/../src/s", "source"), ("/{tmp}//src", "source"),
     ("{tmp}/scratch/../../{base}/repo/x", "repository"), ("{tmp}", "source"), ("/", "source")],
    ids=["dotdot-into-source", "double-slash-source", "dotdot-into-repository", "containing", "root"],
)
def test_a_target_spelled_to_look_elsewhere_is_refused_by_its_real_path(estate, target, what):
    tmp_path, protected = estate
    spelled = target.format(tmp=tmp_path, base=tmp_path.name)
    with pytest.raises(ScratchRefused, match=rf"host h, job flux: refusing scratch {spelled}( \(resolved: "
                                             rf".*\))?: it overlaps the {what} "):
        refuse_overlap(host(spelled), protected, spelled)
    assert sorted(os.listdir(tmp_path / "src")) == ["docs"]


@pytest.mark.parametrize(
    ("what", "changes"),
    [
        ("repository", lambda t: {"repository": f"local:{t}/scratch"}),
        ("mirror", lambda t: {"kind": "rclone-mirror", "repository": None, "destination": f"{t}/scratch"}),
        ("archive root", lambda t: {"kind": "gpg-tar", "archives": {
            "root": f"{t}/scratch", "keep_days": 3, "components": {"n8n": {"source": f"{t}/n8n"}}}}),
        ("component n8n's source", lambda t: {"kind": "gpg-tar", "archives": {
            "root": f"{t}/sets", "keep_days": 3, "components": {"n8n": {"source": f"{t}/scratch"}}}}),
        ("results", lambda t: {"results": f"{t}/scratch"}),
    ],
)
def test_every_declared_path_is_protected(estate, what, changes):
    tmp_path, protected = estate
    declared = protected.model_copy(update=_validated(protected, changes(tmp_path)))
    with pytest.raises(ScratchRefused, match=rf"refusing scratch {tmp_path}/scratch/drill-x: it "
                                             rf"overlaps the {what} "):
        refuse_overlap(host(tmp_path / "scratch"), declared, f"{tmp_path}/scratch/drill-x")


def test_a_dump_its_manifest_and_markers_are_protected_too():
    declared = job(dump={"path": "/flux/db.dump", "manifest": "/flux/db.json"},
                   marker={"path": "/m/flux.json", "failure_path": "/m/flux.failed"})
    assert {(p.what, p.path) for p in protected_paths(declared)} >= {
        ("dump", "/flux/db.dump"), ("dump manifest", "/flux/db.json"),
        ("marker", "/m/flux.json"), ("failure marker", "/m/flux.failed")}


def _validated(base: Job, changes: dict) -> dict:
    """The job's fields with ``changes``, as the inventory's loader would take them."""
    data = base.model_dump(exclude_defaults=True) | changes
    data = {k: v for k, v in data.items() if v is not None}
    data.setdefault("rto", "4h")
    return dict(Job.model_validate(data))


@pytest.mark.parametrize("sample", ["../etc/passwd", "docs/../../repo", "/etc/passwd", "a/..", ".."])
def test_a_sample_with_dotdot_or_absolute_is_refused_as_could_not_run(estate, sample):
    tmp_path, protected = estate
    hostile = protected.model_copy(update={"samples": protected.samples.model_copy(update={"file": sample})})
    with pytest.raises(DrillCouldNotRun, match=rf"host h, job flux: refusing the path '{sample}' below"):
        refuse_overlap(host(tmp_path / "scratch"), hostile, f"{tmp_path}/scratch/drill-x")
    with pytest.raises(ScratchRefused):
        inside_source(protected, sample, "h")


def test_a_sample_whose_real_path_leaves_the_source_is_refused(estate):
    tmp_path, protected = estate
    os.symlink(tmp_path / "repo", tmp_path / "src" / "away")
    hostile = protected.model_copy(update={"samples": protected.samples.model_copy(
        update={"directory": "away/inside"})})
    with pytest.raises(ScratchRefused, match=rf"host h, job flux: refusing the sample directory "
                                             rf"{tmp_path}/src/away/inside \(resolved: "
                                             rf"{tmp_path}/repo/inside\): it leaves the source "
                                             rf"{tmp_path}/src"):
        refuse_overlap(host(tmp_path / "scratch"), hostile, f"{tmp_path}/scratch/drill-x")


def test_scratch_inside_the_source_is_refused_before_anything_runs(tmp_path):
    remote = Remote(Host(name="h", transport="local://", scratch=str(tmp_path / "src" / "s")))
    with pytest.raises(ScratchRefused), scratch_dir(remote, job(source=str(tmp_path / "src"))):
        pass
    assert not (tmp_path / "src").exists()


def test_scratch_is_labelled_and_removed_even_on_error(tmp_path):
    remote = Remote(Host(name="h", transport="local://", scratch=str(tmp_path)))
    seen = []

    def drill_that_blows_up() -> None:
        with scratch_dir(remote, job()) as path:
            seen.append((os.path.isdir(path), os.path.basename(path)))
            raise RuntimeError("drill blew up")

    with pytest.raises(RuntimeError):
        drill_that_blows_up()
    assert seen[0][0]
    assert seen[0][1].startswith(f"drill-{RUNNER}-{os.getpid()}-")
    assert os.listdir(tmp_path) == []


def test_sweep_removes_leftovers_of_dead_runs_and_old_ones_only(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    now = int(time.time())
    names = {
        "dead": f"drill-{RUNNER}-{dead.pid}-{now}-aaaaaa",
        "dead home": f"drill-{RUNNER}-{dead.pid}-{now}-aaaaaa-home",
        "alive home": f"drill-{RUNNER}-{os.getpid()}-{now}-bbbbbb-home",
        "alive": f"drill-{RUNNER}-{os.getpid()}-{now}-bbbbbb",
        "other": f"drill-otherrunner-{dead.pid}-{now}-cccccc",
        "old": f"drill-otherrunner-1-{now - 2 * 86400}-dddddd",
        "foreign": "not-ours",
    }
    for name in names.values():
        (tmp_path / name).mkdir()
    remote = Remote(Host(name="h", transport="local://", scratch=str(tmp_path)))
    swept = sweep(remote)
    assert sorted(swept) == sorted(str(tmp_path / names[k]) for k in ("dead", "dead home", "old"))
    assert sorted(os.listdir(tmp_path)) == sorted(names[k] for k in ("alive", "alive home", "other",
                                                                      "foreign"))


def test_free_space_is_read_from_the_nearest_existing_parent(tmp_path):
    remote = Remote(Host(name="h", transport="local://", scratch=str(tmp_path / "not" / "yet")))
    assert free_bytes(remote, str(tmp_path / "not" / "yet")) > 0


def test_a_restore_that_would_not_fit_is_refused_naming_sizes(tmp_path):
    remote = Remote(Host(name="h", transport="local://", scratch=str(tmp_path)))
    free = ensure_space(remote, job(), 1 << 20)
    with pytest.raises(
        DrillCouldNotRun,
        match=r"host h, job flux: refusing to restore .* MiB into "
        rf"{tmp_path}: only .* MiB free there",
    ):
        ensure_space(remote, job(), free)


def test_sweep_stops_a_process_still_writing_into_a_leftover(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    leftover = tmp_path / f"drill-{RUNNER}-{dead.pid}-{int(time.time())}-eeeeee"
    leftover.mkdir()
    writer = subprocess.Popen(["sh", "-c", f"sleep 300 # restoring into {leftover}"])
    remote = Remote(Host(name="h", transport="local://", scratch=str(tmp_path)))
    assert sweep(remote) == [str(leftover)]
    assert writer.wait(timeout=10) != 0
    assert not leftover.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="starts a process as another user")
def test_sweep_stops_no_process_of_another_user_that_names_a_leftover(tmp_path):
    """Any user may name a scratch path on its command line: the sweep, root under sudo, stops
    only its own user's processes (the drill's restore, hashing), never another user's."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    leftover = tmp_path / f"drill-{RUNNER}-{dead.pid}-{int(time.time())}-eeeeee"
    leftover.mkdir()
    other = subprocess.Popen(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "sh", "-c",
                              f"sleep 300 # {leftover}"])
    try:
        time.sleep(0.3)
        assert sweep(Remote(Host(name="h", transport="local://", scratch=str(tmp_path)))) == [str(leftover)]
        assert other.poll() is None
        assert not leftover.exists()
    finally:
        other.kill()
        other.wait(timeout=10)


def test_the_sweep_removes_credentials_folders_of_dead_helpers_and_old_ones_only(tmp_path):
    """unit-credentials.sh names its folder by its PID and start; the sweep removes one whose
    helper is gone or older than a day (one named the old way: by its modification time), and
    never follows a link."""
    from backup_drills.restores.scratch import sweep_credentials

    dead = subprocess.Popen(["true"])
    dead.wait()
    now = int(time.time())
    names = {
        "dead": f"backup-drill-credentials.{dead.pid}-{now}.Ab12Cd",
        "alive": f"backup-drill-credentials.{os.getpid()}-{now}.Ef34Gh",
        "old": f"backup-drill-credentials.{os.getpid()}-{now - 2 * 86400}.Ij56Kl",
        "unnamed-old": "backup-drill-credentials.Mn78Op",
        "unnamed-young": "backup-drill-credentials.Qr90St",
        "foreign": "credentials.not-ours",
    }
    for name in names.values():
        (tmp_path / name).mkdir()
        (tmp_path / name / "password").write_text("secret")
    os.utime(tmp_path / names["unnamed-old"], (now - 2 * 86400, now - 2 * 86400))
    target = tmp_path / "kept"
    target.mkdir()
    (tmp_path / "backup-drill-credentials.1-1.link").symlink_to(target)
    remote = Remote(Host(name="h", transport="local://", scratch=str(tmp_path / "scratch")))
    swept = sweep_credentials(remote, str(tmp_path))
    assert sorted(swept) == sorted(str(tmp_path / names[k]) for k in ("dead", "old", "unnamed-old"))
    assert sorted(os.listdir(tmp_path)) == sorted([*(names[k] for k in ("alive", "unnamed-young", "foreign")),
                                                   "kept", "backup-drill-credentials.1-1.link"])
    exact = Remote(Host(name="h", transport="local://", scratch=str(tmp_path), sudo="exact"))
    assert sweep_credentials(exact, str(tmp_path)) == []  # never given the helper: none to sweep


# The scratch root as another local user could leave it before the drill's first run: each is
# refused by drills/scripts/scratch-root.sh, run for real through local://, before any run folder
# is made, the message naming host, job, the path, its owner and mode, and what is expected.
def _planted(tmp_path: Path, how: str) -> tuple[Path, Path]:
    """(the scratch root, the path the message must name) for one way of planting it."""
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    if how == "symlink root":
        root.symlink_to(elsewhere)
    elif how == "root with a symlink in it, writable by others":
        root.mkdir()
        root.chmod(0o777)
        (root / f"drill-{RUNNER}-1-1-aaaaaa").symlink_to(elsewhere)
    elif how == "wrong owner":
        root.mkdir(mode=0o700)
        os.chown(root, 4242, 4242)
    elif how == "group-writable root":
        root.mkdir()
        root.chmod(0o770)
    elif how == "world-writable ancestor, not sticky":
        (tmp_path / "open").mkdir()
        (tmp_path / "open").chmod(0o777)
        root = tmp_path / "open" / "root"
        return root, tmp_path / "open"
    return root, root


@pytest.mark.parametrize("how", ["symlink root", "root with a symlink in it, writable by others",
                                 "wrong owner", "group-writable root",
                                 "world-writable ancestor, not sticky"])
def test_a_scratch_root_another_user_could_have_planted_is_refused(tmp_path, how):
    if how == "wrong owner" and os.geteuid() != 0:
        pytest.skip("chown to another uid needs root")
    root, named = _planted(tmp_path, how)
    before = sorted(p.name for p in (tmp_path / "elsewhere").iterdir())
    with pytest.raises(ScratchRefused) as refused, scratch_dir(host(root), job(source=str(tmp_path / "src"))):
        pytest.fail("scratch was made")
    message = str(refused.value)
    assert message.startswith(f"host h, job flux: refusing the scratch root {root}: {named}: owned by "), \
        message
    assert re.search(r"\(uid [0-9]+\), mode [0-7]{4}, ", message), message
    assert "expected " in message, message
    assert "not a symlink" in message, message
    assert sorted(p.name for p in (tmp_path / "elsewhere").iterdir()) == before  # nothing written there
    assert not (tmp_path / "open" / "root").exists()


def test_a_missing_scratch_root_is_made_0700_and_a_sticky_parent_is_trusted(tmp_path):
    sticky = tmp_path / "tmp"
    sticky.mkdir()
    sticky.chmod(0o1777)  # like /var/tmp
    root = sticky / "backup-drill"
    with scratch_dir(host(root), job(source=str(tmp_path / "src"))) as target:
        assert oct(root.stat().st_mode & 0o7777) == "0o700"
        assert root.stat().st_uid == os.geteuid()
        assert oct(os.stat(target).st_mode & 0o7777) == "0o700"
    assert os.listdir(root) == []


def test_a_run_folder_that_exists_already_is_not_reused(tmp_path):
    from backup_drills.restores.scratch import make_run_folder

    (tmp_path / "drill-x-1-1-aa").symlink_to(tmp_path)
    with pytest.raises(ScratchRefused, match=r"host h, job flux: refusing the scratch root .*File exists"):
        make_run_folder(host(tmp_path), job(), "drill-x-1-1-aa")
