"""The suite as an operator runs it: inventory selection, job parametrization, bad input."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def pytest_features(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    reports = [f"--alluredir={tmp / 'allure'}", f"--evidence-dir={tmp / 'evidence'}"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "features/", "-p", "no:cacheprovider", *reports, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_invalid_inventory_stops_the_run_naming_file_key_and_expectation(tmp_path):
    bad = tmp_path / "bad.yml"
    doc = yaml.safe_load((ROOT / "inventory/lab.yml").read_text())
    doc["jobs"]["flux-backup"]["rpo"] = "yesterday"
    bad.write_text(yaml.safe_dump(doc))
    run = pytest_features(f"--inventory={bad}", tmp=tmp_path)
    assert run.returncode == 4
    assert "invalid inventory, no host was touched" in run.stderr
    where = rf"{re.escape(str(bad))}:\d+:\d+"  # file:line:column, as editors jump to
    assert re.search(rf"{where}: jobs\.flux-backup\.rpo: expected a duration such as 26h", run.stderr)


def test_adding_a_job_to_the_inventory_drills_it_without_editing_a_feature(tmp_path):
    doc = yaml.safe_load((ROOT / "inventory/lab.yml").read_text())
    doc["jobs"]["home-backup"] = dict(doc["jobs"]["flux-backup"], source="/home")
    path = tmp_path / "more.yml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    run = pytest_features(f"--inventory={path}", "--collect-only", "-q", "-m", "repository", tmp=tmp_path)
    ids = [line for line in run.stdout.splitlines() if "::" in line]
    # the 7 repository scenarios for each restic job, and the rotation's for those that read
    # a rotation (home-backup copies flux-backup's */4): the new job is drilled like its model
    assert sum("[home-backup@motoko]" in line for line in ids) == 8, run.stdout
    assert sum("[flux-backup@motoko]" in line for line in ids) == 8
    restic_jobs = [name for name, job in doc["jobs"].items() if job["kind"] == "restic"]
    assert {line.split("[")[1].split("@")[0] for line in ids} == set(restic_jobs)


def test_one_job_or_one_host_is_selected_with_k(tmp_path):
    run = pytest_features("--collect-only", "-q", "-k", "space-mirror", tmp=tmp_path)
    ids = [line for line in run.stdout.splitlines() if "::" in line]
    assert ids
    assert all("[space-mirror@akira]" in line for line in ids)


def test_unreachable_hosts_are_named_in_one_line_each_and_the_run_goes_on(tmp_path):
    doc = yaml.safe_load((ROOT / "inventory/example.yml").read_text())
    for host in doc["hosts"].values():
        host.update(transport="ssh://drill@127.0.0.1:1", ssh_config=None, ssh_identity_file=None)
    path = tmp_path / "down.yml"
    path.write_text(yaml.safe_dump(doc))
    run = pytest_features(f"--inventory={path}", "-m", "markers", "-q", tmp=tmp_path)
    lines = [line for line in run.stdout.splitlines() if line.startswith("UNREACHABLE")]
    assert sorted(line.split()[2] for line in lines) == ["akira", "motoko"]
    assert "Connection refused" in lines[0]
    reports = [line for line in run.stdout.splitlines() if line.startswith("COULD NOT RUN: job ")]
    assert len(reports) == 6, run.stdout
    assert run.returncode == 2  # could not run, as opposed to 1: not compliant
    assert "6 failed" in run.stdout


USER_FEATURE = """\
@weekly @team-db
Feature: Our own weekly checks
  Scenario: Our repositories pass restic check
    Given the job's host answers
    Then restic check passes

  Scenario: Our ClickHouse tiers restore
    Given the job's host answers
    When I restore the newest ClickHouse backup of every tier into a scratch ClickHouse server
    Then every tier's backup matches its manifest, passes the smoke queries and has the expected tables
"""


def user_folder(tmp: Path, inventory: dict) -> Path:
    """A user's own folder: one feature with custom tags and no selector tags, an inventory."""
    folder = tmp / "ours"
    folder.mkdir()
    (folder / "weekly.feature").write_text(USER_FEATURE)
    (folder / "prod.yml").write_text(yaml.safe_dump(inventory))
    return folder


def test_a_users_own_feature_with_custom_tags_and_no_selectors_runs_where_its_steps_apply(tmp_path):
    doc = yaml.safe_load((ROOT / "inventory/lab.yml").read_text())
    doc["jobs"] = {name: job for name, job in doc["jobs"].items() if job["kind"] != "clickhouse-backup"}
    folder = user_folder(tmp_path, doc)
    run = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                          "--inventory", "prod.yml", "-m", "weekly and team-db"],
                         cwd=folder, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    ids = [line for line in run.stdout.splitlines() if "::" in line]
    restic_jobs = sorted(name for name, job in doc["jobs"].items() if job["kind"] == "restic")
    # "Then restic check passes" needs a restic job: no mirror, database or tarball job gets it
    assert sorted(line.split("[")[1].split("@")[0] for line in ids) == restic_jobs, run.stdout
    assert all(line.startswith("weekly.feature::test_our_repositories_pass_restic_check[") for line in ids)
    # the ClickHouse scenario applies to no job of this inventory: one line, not a skip per test
    assert "1 scenario(s) apply to no job of inventory lab" in run.stdout, run.stdout
    assert "empty parameter set" not in run.stdout + run.stderr
    assert not (folder / "reports").exists(), "collecting wrote reports"


def test_collecting_never_writes_or_cleans_reports(tmp_path):
    results = tmp_path / "reports/allure-results"
    results.mkdir(parents=True)
    (results / "environment.properties").write_text("run.start=the last run\n")
    run = subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "features"), "--collect-only", "-q",
                          "-p", "no:cacheprovider", f"--inventory={ROOT / 'inventory/lab.yml'}"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert [p.name for p in results.iterdir()] == ["environment.properties"]
    assert (results / "environment.properties").read_text() == "run.start=the last run\n"
    assert not (tmp_path / "reports/evidence").exists()


def test_the_inventory_may_come_from_the_environment_and_a_drill_without_one_is_refused(tmp_path):
    folder = user_folder(tmp_path, yaml.safe_load((ROOT / "inventory/lab.yml").read_text()))
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKUP_DRILLS_")}
    refused = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=120, env=env)
    assert refused.returncode == 4
    assert "no inventory to drill: pass --inventory FILE" in refused.stderr
    env["BACKUP_DRILLS_INVENTORY"] = "prod.yml"
    chosen = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=120, env=env)
    assert chosen.returncode == 0, chosen.stdout + chosen.stderr
    assert "test_our_repositories_pass_restic_check[flux-backup@motoko]" in chosen.stdout
    env["BACKUP_DRILLS_REMOTE_TIMEOUT"] = "soon"
    bad = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=120, env=env)
    assert bad.returncode == 4
    assert "BACKUP_DRILLS_REMOTE_TIMEOUT: expected a number of seconds, got 'soon'" in bad.stderr


def collected(*args: str, tmp: Path) -> set[str]:
    """The test IDs a ``--collect-only`` drill of ``features/`` selects."""
    run = pytest_features("--collect-only", "-q", *args, tmp=tmp)
    assert run.returncode in (0, 5), run.stdout + run.stderr  # 5: every test left out
    return {line for line in run.stdout.splitlines() if "::" in line}


NOT_RUN = "not run: writes not allowed ({}; set writes: allowed on the job or pass --allow-writes)"


def test_a_drill_of_the_example_inventory_plants_nothing_unless_writes_are_allowed(tmp_path):
    example = f"--inventory={ROOT / 'inventory/example.yml'}"
    writing = collected(example, "-m", "writes", "--allow-writes", tmp=tmp_path)
    # the restic canary of flux-backup, the example's one job a @writes scenario applies to
    assert writing == {"features/restore.feature::test_a_canary_planted_before_an_ondemand_backup_"
                       "comes_back_byteexact[flux-backup@motoko]"}
    read_only = pytest_features(example, "--collect-only", "-q", tmp=tmp_path)
    chosen = {line for line in read_only.stdout.splitlines() if "::" in line}
    assert chosen
    assert not chosen & writing, chosen & writing
    # one line for the whole run, not a skip per test; pytest counts them as deselected
    assert read_only.stdout.count("not run: writes not allowed") == 1, read_only.stdout
    assert NOT_RUN.format("1 scenario") in read_only.stdout
    assert collected(example, "--allow-writes", tmp=tmp_path) == chosen | writing


def test_the_lab_declares_writes_allowed_for_each_job_its_write_scenarios_drill(tmp_path):
    lab = collected("-m", "writes", tmp=tmp_path)
    doc = yaml.safe_load((ROOT / "inventory/lab.yml").read_text())
    allowed = sorted(name for name, job in doc["jobs"].items() if job.get("writes") == "allowed")
    assert sorted({test.split("[")[1].split("@")[0] for test in lab}) == allowed
    doc["jobs"]["flux-backup"].pop("writes")
    refused = tmp_path / "refused.yml"
    refused.write_text(yaml.safe_dump(doc, allow_unicode=True))
    run = pytest_features(f"--inventory={refused}", "--collect-only", "-q", "-m", "writes", tmp=tmp_path)
    left = {line for line in run.stdout.splitlines() if "::" in line}
    assert lab - left == {test for test in lab if test.endswith("[flux-backup@motoko]")} != set()
    assert NOT_RUN.format("1 scenario") in run.stdout, run.stdout


def test_write_scenarios_not_allowed_are_neither_failed_nor_verified_in_a_parallel_drill(tmp_path):
    """Unreachable hosts: the read-only scenarios COULD NOT RUN (exit 2, not 1); the canary is
    left out, named once in the terminal and in its job's evidence, by the xdist controller."""
    doc = yaml.safe_load((ROOT / "inventory/example.yml").read_text())
    for host in doc["hosts"].values():
        host.update(transport="ssh://drill@127.0.0.1:1", ssh_config=None, ssh_identity_file=None)
    path = tmp_path / "down.yml"
    path.write_text(yaml.safe_dump(doc))
    run = pytest_features(f"--inventory={path}", "-m", "writes or (markers and not schedules)",
                          "-n", "2", "-q", tmp=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stdout.count("not run: writes not allowed") == 1, run.stdout
    assert NOT_RUN.format("1 scenario") in run.stdout
    assert "\n6 failed in " in run.stdout, run.stdout
    assert "passed" not in run.stdout
    (folder,) = (tmp_path / "evidence").iterdir()
    flux = json.loads((folder / "flux-backup@motoko.json").read_text())
    assert flux["not_run"] == [{"scenario": "A canary planted before an on-demand backup comes back "
                                            "byte-exact", "reason": "writes not allowed"}]
    assert all("canary" not in s["scenario"] for s in flux["scenarios"])
    assert "1 not run: writes not allowed" in (folder / "summary.md").read_text()


def test_backup_drills_run_passes_allow_writes_to_the_drill(tmp_path):
    command = [sys.executable, "-c", "from backup_drills.cli import main; raise SystemExit(main())", "run",
               f"--inventory={ROOT / 'inventory/example.yml'}", "--collect-only", "-q",
               "-m", "writes"]  # its cache and reports: the current folder's (tmp_path)
    refused = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 5, refused.stdout + refused.stderr  # nothing left to drill
    assert NOT_RUN.format("1 scenario") in refused.stdout
    allowed = subprocess.run([*command, "--allow-writes"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=120)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "comes_back_byteexact[flux-backup@motoko]" in allowed.stdout
    assert "not run: writes not allowed" not in allowed.stdout


def test_backup_drills_run_without_pytests_cache(tmp_path):
    """``-p no:cacheprovider`` leaves pytest without a cache_dir option: the command sets none
    then (pytest refused the run: 'Unknown config option: cache_dir')."""
    command = [sys.executable, "-c", "from backup_drills.cli import main; raise SystemExit(main())", "run",
               f"--inventory={ROOT / 'inventory/example.yml'}", "--collect-only", "-q",
               "-p", "no:cacheprovider"]
    run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "cache_dir" not in run.stdout + run.stderr
    assert not (tmp_path / ".pytest_cache").exists()
