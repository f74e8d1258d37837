"""restore.feature bites: silent corruption, a slow restore and a canary left out are caught;
a file changed after the snapshot is reported, not failed; a damaged blob under the oldest
snapshot fails its verified restore by ID."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from backup_drills.core.restore_rotation import due_slice, slice_of
from tests.faults.conftest import blob_location, flip_one_byte, put_back

pytestmark = [pytest.mark.lab, pytest.mark.touches("motoko")]

FULL = "test_the_latest_snapshot_restores_byteidentical_within_the_rto"
SINGLE = "test_a_single_file_restores_exactly"
CANARY = "test_a_canary_planted_before_an_ondemand_backup_comes_back_byteexact"
OLDEST = "test_the_oldest_kept_snapshot_restores_by_its_id"
OLD_DIR = "/flux/active/project-alpha/src"
VICTIM = "/flux/active/project-alpha/src/file-00325.dat"
SAMPLE = "/flux/active/project-beta/notebooks/naïve café – notes.txt"
ROTATION = "test_the_slice_of_the_restore_rotation_due_now_restores_byteidentical"
COVERAGE = "test_every_file_was_restored_within_the_rotation"
BACKUP_JSON = "backup /flux --host motoko --exclude-file /etc/miket/flux-backup.excludes --json --quiet"


def test_a_file_silently_changed_since_the_snapshot_fails_the_full_restore(drill, motoko):
    with motoko.keep(VICTIM):
        motoko.sh(f"m=$(stat -c %Y {VICTIM}); printf X >> {VICTIM}; touch -d @$m {VICTIM}")
        run = drill.run(FULL, "flux-backup@motoko")
    run.expect_failure(
        "host motoko, job flux-backup: restore of /flux into /var/tmp/backup-drill/",
        "1 differs from the source (unchanged since the backup)",
        VICTIM,
    )


def test_a_file_changed_after_the_snapshot_is_reported_not_failed(drill, motoko):
    """... and the live log (``--log-cli-level=INFO``) names each job's scenario and, with
    progress lines every 0.2 s, says what the restore has written against the snapshot's size
    while restic runs."""
    with motoko.keep(VICTIM):
        motoko.sh(f"printf 'edited after the backup' >> {VICTIM}")
        run = drill.run(FULL, "flux-backup@motoko", options=("--progress-every=0.2", "--log-cli-level=INFO"))
    run.expect_pass()
    scenario_line = r"drills\.drill:\S+ flux-backup@motoko: scenario The latest snapshot restores"
    assert re.search(scenario_line, run.output), run.output
    progress = re.findall(r"host motoko: still running after \d+s of its \d+s limit \(([^()]*\(\d+%\))\): "
                          r"restic -r \S+ --no-lock restore", run.output)
    assert progress, run.output
    written = re.compile(r"[\d.]+ [KMG]?i?B of [\d.]+ [KMG]iB written \(\d+%\)")
    assert all(written.fullmatch(said) for said in progress), progress


def test_a_restore_slower_than_the_rto_fails(drill):
    inventory = drill.inventory_with("flux-backup", rto="1s")
    run = drill.run(FULL, "flux-backup@motoko", inventory)
    run.expect_failure("host motoko, job flux-backup: restore of /flux took", "RTO 1.0s")


def test_a_changed_sample_file_fails_the_single_file_restore(drill, motoko):
    quoted = f"'{SAMPLE}'"
    with motoko.keep(SAMPLE):
        motoko.sh(f"m=$(stat -c %Y {quoted}); printf Y >> {quoted}; touch -d @$m {quoted}")
        run = drill.run(SINGLE, "flux-backup@motoko")
    run.expect_failure("host motoko, job flux-backup", SAMPLE)
    drill.healed(SINGLE, "flux-backup@motoko")


def test_a_backup_that_leaves_the_canary_out_fails(drill, motoko):
    excludes = "/etc/miket/flux-backup.excludes"
    with motoko.keep(excludes):
        motoko.sh(f"echo '/flux/.drill-canary' >> {excludes}")
        run = drill.run(CANARY, "flux-backup@motoko")
    run.expect_failure(
        "host motoko, job flux-backup", "1 missing from the restore", "/flux/.drill-canary/canary-"
    )
    assert motoko.sh("ls -A /flux/.drill-canary 2>/dev/null || true").strip() == ""  # nor its folder
    drill.healed(CANARY, "flux-backup@motoko")


def test_a_restore_that_would_not_fit_in_scratch_is_refused_before_writing(drill, motoko):
    tiny = "/var/tmp/tiny-scratch"
    motoko.sh(f"mkdir -p {tiny} && mount -t tmpfs -o size=16m tmpfs {tiny}")
    try:
        inventory = drill.inventory_with(host="motoko", scratch=tiny)
        run = drill.run(FULL, "flux-backup@motoko", inventory)
        leftovers = motoko.sh(f"ls -A {tiny}").strip()
    finally:
        motoko.sh(f"umount {tiny} && rmdir {tiny}")
    run.expect_failure(
        "COULD NOT RUN: host motoko, job flux-backup: refusing to restore",
        f"MiB into {tiny}: only 16.0 MiB free there",
        exit_code=2,
    )
    assert leftovers == ""


def test_a_scratch_that_is_a_symlink_into_the_source_is_refused_on_the_host(drill, motoko):
    """Its text overlaps nothing; its real path (resolved on motoko, before anything is written)
    is inside /flux: COULD NOT RUN naming the host, the job and both paths."""
    link = "/var/tmp/scratch-into-flux"
    motoko.sh(f"ln -sfn /flux {link}")
    try:
        run = drill.run(FULL, "flux-backup@motoko", drill.inventory_with(host="motoko", scratch=link))
        written = motoko.sh("ls -d /flux/drill-* 2>/dev/null || true").strip()
    finally:
        motoko.sh(f"rm -f {link}")
    run.expect_failure(
        f"COULD NOT RUN: host motoko, job flux-backup: refusing scratch {link}/drill-",
        "(resolved: /flux/drill-", "overlaps the source /flux, which the drill protects",
        exit_code=2,
    )
    assert written == ""


def first_file_blob(motoko, snapshot_id: str, directory: str) -> str:
    """The first content blob of the first file in ``directory`` of a snapshot, walking its trees."""
    tree = json.loads(motoko.restic(f"cat snapshot {snapshot_id} --no-lock"))["tree"]
    for name in directory.strip("/").split("/"):
        nodes = json.loads(motoko.restic(f"cat blob {tree} --no-lock"))["nodes"]
        tree = next(node["subtree"] for node in nodes if node["name"] == name)
    nodes = json.loads(motoko.restic(f"cat blob {tree} --no-lock"))["nodes"]
    return str(next(n["content"][0] for n in nodes if n["type"] == "file" and n.get("content")))


def test_a_flipped_byte_under_the_oldest_snapshot_fails_its_verified_restore(drill, motoko, bucket):
    snapshots = json.loads(motoko.restic("snapshots --host motoko --path /flux --json --no-lock"))
    oldest = min(snapshots, key=lambda snap: snap["time"])
    pack, offset, length = blob_location(motoko, first_file_blob(motoko, oldest["id"], OLD_DIR))
    original = flip_one_byte(bucket, pack, offset + length // 2)
    try:
        drill.run(OLDEST, "flux-backup@motoko").expect_failure(
            "host motoko, job flux-backup", f"restore {oldest['id']}", "--verify"
        )
    finally:
        put_back(bucket, pack, original)
    drill.healed(OLDEST, "flux-backup@motoko")


def test_excludes_follow_restics_own_rules(drill, motoko):
    """The estate excludes `cache`, `*.tmp` and `docs/*.md` as restic reads them: `cache` and
    `*.tmp` at any depth and on directories too, `docs/*.md` not below docs/. The restore then
    expects just what restic kept (no false "missing"), and a real difference below docs/ is
    named (not hidden by a pattern read as fnmatch)."""
    patterns = ["/flux/scratch/tmp", "cache", "*.tmp", "docs/*.md"]
    inventory = drill.inventory_with("flux-backup", excludes=patterns)
    excludes, below_docs = "/etc/miket/flux-backup.excludes", "/flux/docs/sub/keep.md"
    planted = ["/flux/active/project-alpha/cache/blob.bin", "/flux/active/render.tmp/frame-0001.bin",
               "/flux/docs/a.md", below_docs]
    with motoko.keep(excludes):
        motoko.sh(f"printf '%s\\n' {' '.join(patterns)} > {excludes}; " + "; ".join(
            f"mkdir -p \"$(dirname {p})\" && head -c 4096 /dev/urandom > {p}" for p in planted))
        snapshot = json.loads(motoko.restic(BACKUP_JSON).splitlines()[-1])["snapshot_id"][:8]
        try:
            drill.run(FULL, "flux-backup@motoko", inventory).expect_pass()
            motoko.sh(f"m=$(stat -c %Y {below_docs}); printf X >> {below_docs}; touch -d @$m {below_docs}")
            run = drill.run(FULL, "flux-backup@motoko", inventory)
        finally:
            motoko.restic(f"forget {snapshot}")
            motoko.sh("rm -rf /flux/active/project-alpha/cache /flux/active/render.tmp /flux/docs")
    run.expect_failure("restore of /flux into", "1 differs from the source (unchanged since the backup)",
                       below_docs)
    drill.healed(FULL, "flux-backup@motoko")


def test_a_canary_a_killed_drill_left_in_the_source_is_swept_by_the_next_run(drill, motoko):
    """A drill killed during its on-demand backup leaves its canary in /flux/.drill-canary/,
    older than the snapshots after it and in none of them: the next run removes it before it
    drills, so it is not "missing from the restore"."""
    leftover = "/flux/.drill-canary/canary-0123456789abcdef.bin"
    motoko.sh(f"mkdir -p /flux/.drill-canary && head -c 65536 /dev/urandom > {leftover} && "
              f"touch -d '2 days ago' {leftover}")
    try:
        drill.run(FULL, "flux-backup@motoko").expect_pass()
        assert motoko.read(leftover) is None
        assert "No such file" in motoko.sh("ls /flux/.drill-canary 2>&1 || true")
    finally:
        motoko.sh("rm -rf /flux/.drill-canary")


def test_the_restore_rotation_finds_a_corrupted_file_names_an_overdue_slice_stops_over_budget(drill, motoko):
    """One drill of each: a file of the slice due this week, silently changed in the source,
    fails the slice's restore naming it; an evidence history (the drill's own folder, in its
    format) whose slices 3/4 and 2/4 last came back six and five weeks ago fails the coverage
    scenario, run alone, naming 2/4 and when: the run's own restore (taken by the coverage
    scenario itself, as no slice scenario ran) proves the oldest, 3/4, and no more; a budget
    smaller than the slice stops the drill before restoring, naming the slice and its bytes."""
    due = due_slice([], 4, datetime.now(UTC).date())  # a fresh evidence folder: the week's slice
    found = motoko.sh("cd /flux && find active/project-alpha/src -type f -name '*.dat' | sort")
    victim = "/flux/" + next(p for p in found.split() if slice_of(p, 4) == due)
    with motoko.keep(victim):
        motoko.sh(f"m=$(stat -c %Y {victim}); printf X >> {victim}; touch -d @$m {victim}")
        run = drill.run(ROTATION, "flux-backup@motoko")
    run.expect_failure(f"host motoko, job flux-backup: restore rotation slice {due}/4 of snapshot",
                       "1 differs from the source (unchanged since the backup)", victim)
    drill.healed(ROTATION, "flux-backup@motoko")

    now = datetime.now(UTC)
    for n, weeks in ((1, 1), (2, 5), (3, 6), (4, 3)):
        run_dir = drill.tmp / "evidence" / f"2026010{n}T000000Z"
        run_dir.mkdir(parents=True)
        proof = {"slice": f"{n}/4", "proven_at": (now - timedelta(weeks=weeks)).isoformat(),
                 "passed": True, "files": 1, "bytes": 1}
        evidence = {"measured": {"restore_rotation": proof}}
        (run_dir / "flux-backup@motoko.json").write_text(json.dumps(evidence))
    run = drill.run(COVERAGE, "flux-backup@motoko")
    run.expect_failure("host motoko, job flux-backup: every file of /flux restored within the last 29d: "
                       "slice(s) 2/4 of the rotation not restored since",
                       f"slice 2/4: last restored identical {(now - timedelta(weeks=5)).date()}",
                       f"slice 3/4: last restored identical {now.date()}")  # this run's own

    run = drill.run(ROTATION, "flux-backup@motoko",
                    drill.inventory_with("flux-backup", restore_budget={"bytes": "1 MiB"}))
    run.expect_failure("host motoko, job flux-backup: restore rotation slice",
                       "bytes: over the budget of 1048576 bytes; nothing was restored")
