"""The CI recipes of docs/fleets.md, run as far as this machine can: each YAML block parses, and its
``backup-drills merge`` command, run through bash where the CI system would run it, merges three
shards laid out the way that system hands them over (GitHub: one artifact folder per shard;
GitLab: every shard's ``reports/`` unpacked into one folder). The scheduling recipes of
docs/scheduling.md: the systemd units as systemd-analyze reads them, the cron line as cronsim,
the CronJob's fields, the same firing times, and each one's drill command run for real."""

import os
import re
import shlex
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from cronsim import CronSim

from backup_drills.core.calendars import cron_times, five_fields, parse_analyze
from backup_drills.evidence import manifest
from backup_drills.evidence.log import EvidenceLog
from backup_drills.evidence.signing import keygen, sign, signing_key

ROOT = Path(__file__).resolve().parents[2]
OUTCOMES = {1: {"flux@motoko": "verified"}, 2: {"db@cartae": "not_compliant"}, 3: {"web@akira": "verified"}}


def recipe(name: str) -> dict:
    """docs/fleets.md's YAML block that follows the line starting with ``name``."""
    text = (ROOT / "docs/fleets.md").read_text()
    found = re.search(rf"^{re.escape(name)}.*?\n```yaml\n(.*?)```", text, re.MULTILINE | re.DOTALL)
    assert found, f"docs/fleets.md has no YAML block after {name!r}"
    return yaml.safe_load(found.group(1))


def merge_command(script: str) -> str:
    """The ``backup-drills merge`` command of a recipe's script (with its continuation lines)."""
    found = re.search(r"backup-drills merge(?:\\\n|[^\n;])*", script)
    assert found, script
    return found.group(0)


def shard_reports(where: Path, number: int, private: Path) -> None:
    """What ``backup-drills run --shard N/3 --sign-evidence KEY`` leaves in a runner's reports/."""
    log = EvidenceLog(run_id=f"20261129T0{number}0000Z", shard=f"{number}/3")
    for job, outcome in OUTCOMES[number].items():
        log.record(job, restore_seconds=1.0, rto_seconds=60.0)
        log.outcome(job, "restic check passes", outcome, ["SOC2-A1.2"])
    folder = log.write(where / "evidence")
    now = datetime.now(UTC)
    facts = manifest.RunFacts(log.run_id, now, now, list(OUTCOMES[number]), shard=log.shard)
    sign(manifest.write(folder, facts), signing_key(str(private)))
    results = where / "allure-results"
    results.mkdir(parents=True, exist_ok=True)
    (results / f"shard{number}-result.json").write_text("{}")


def run_merge(command: str, cwd: Path, private: Path) -> subprocess.CompletedProcess[str]:
    tools = str(Path(sys.executable).parent)
    if shutil.which("backup-drills", path=tools) is None:
        pytest.skip("backup-drills is not installed beside this Python")
    environment = {**os.environ, "PATH": f"{tools}:{os.environ['PATH']}", "EVIDENCE_KEY": str(private)}
    return subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env=environment)


def merged_run(out: Path) -> Path:
    (run,) = [p for p in out.iterdir() if p.is_dir() and p.name.endswith("-merged")]
    return run


def merged_jobs(out: Path) -> dict[str, str]:
    return {p.stem: yaml.safe_load(p.read_text())["verdict"] for p in merged_run(out).glob("*@*.json")}


def test_the_github_matrix_recipe_merges_its_three_artifacts(tmp_path):
    jobs = recipe("GitHub Actions")["jobs"]
    assert jobs["drill"]["strategy"]["matrix"]["shard"] == [1, 2, 3]
    assert "--shard ${{ matrix.shard }}/3" in jobs["drill"]["steps"][0]["run"]
    private, public = keygen(tmp_path / "keys")
    shutil.copy(public, tmp_path / "evidence.pub")
    for number in OUTCOMES:  # download-artifact: shards/<artifact name>/<what reports/ held>
        shard_reports(tmp_path / "shards" / f"shard-{number}", number, private)
    script = next(step["run"] for step in jobs["merge"]["steps"] if "run" in step)
    merged = run_merge(merge_command(script), tmp_path, private)
    assert merged.returncode == 1, merged.stdout + merged.stderr  # db@cartae is not compliant
    assert merged_jobs(tmp_path / "merged") == {
        "flux@motoko": "verified", "db@cartae": "not_compliant", "web@akira": "verified"}
    assert len(list((tmp_path / "merged" / "allure-results").glob("*-result.json"))) == 3
    assert manifest.verify_run(merged_run(tmp_path / "merged"), public).all() == []  # signed again


def test_the_gitlab_parallel_recipe_merges_the_reports_it_unpacked_into_one_folder(tmp_path):
    doc = recipe("GitLab CI")
    assert doc["drill"]["parallel"] == 3
    assert '--shard "$CI_NODE_INDEX/$CI_NODE_TOTAL"' in doc["drill"]["script"][0]
    private, public = keygen(tmp_path / "keys")
    shutil.copy(public, tmp_path / "evidence.pub")
    for number in OUTCOMES:  # artifacts of every drill job, unpacked into the same reports/
        shard_reports(tmp_path / "reports", number, private)
    merged = run_merge(merge_command(doc["merge"]["script"][0]), tmp_path, private)
    assert merged.returncode == 1, merged.stdout + merged.stderr
    assert merged_jobs(tmp_path / "merged") == {
        "flux@motoko": "verified", "db@cartae": "not_compliant", "web@akira": "verified"}
    assert manifest.verify_run(merged_run(tmp_path / "merged"), public).all() == []  # signed again


# the scheduling recipes of docs/scheduling.md (docs/recipes/), each read by its own program
RECIPES = ROOT / "docs" / "recipes"
INSTALLED = "/opt/backup-drills/bin/backup-drills"  # where the recipes expect the command
INVENTORY = "/etc/backup-drills/inventory.yml"


def unit_settings(name: str) -> dict[str, list[str]]:
    """A systemd unit's ``Key=value`` lines (every section), each key's values in order."""
    settings: dict[str, list[str]] = {}
    for line in (RECIPES / name).read_text().splitlines():
        key, equals, value = line.partition("=")
        if equals and not line.startswith(("#", ";", "[")):
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def cron_entry() -> tuple[str, str, str]:
    """The cron.d file's one job: its schedule, its user and its command."""
    (line,) = [line for line in (RECIPES / "backup-drills.cron").read_text().splitlines()
               if line.strip() and not line.startswith("#") and not re.match(r"[A-Z_]+=", line)]
    fields = line.split(None, 6)
    return " ".join(fields[:5]), fields[5], fields[6]


def drills_words(command: str) -> list[str]:
    """The ``backup-drills ...`` part of a shell command: from the program to the first
    redirection, ``&&``, ``;`` or ``|``."""
    words = shlex.split(command)
    start = next(i for i, word in enumerate(words) if word == "backup-drills" or word == INSTALLED)
    end = next((i for i, word in enumerate(words) if i > start and re.match(r"[0-9]*[<>&|;]", word)),
               len(words))
    return words[start:end]


def collect_only(words: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    """A recipe's command, run for real with ``--collect-only`` and its inventory replaced by one
    of this machine: its subcommand and every option must exist."""
    from tests.unit.test_notify import tiny_estate

    inventory = tiny_estate(tmp / "estate")
    args = [str(inventory) if word == INVENTORY else word for word in words[1:]]
    assert str(inventory) in args, words
    return subprocess.run([sys.executable, "-c",
                           "from backup_drills.cli import main; raise SystemExit(main())",
                           *args, "--collect-only", "-q", "-p", "no:cacheprovider"],
                          cwd=tmp, capture_output=True, text=True, timeout=120)


def test_the_systemd_units_pass_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    command = shutil.which("backup-drills", path=str(Path(sys.executable).parent))
    if analyze is None or command is None:
        pytest.skip("systemd-analyze, or backup-drills beside this Python, is missing")
    units = tmp_path / "units"
    units.mkdir()
    for name in ("backup-drills.service", "backup-drills.timer"):  # ExecStart= must be executable
        (units / name).write_text((RECIPES / name).read_text().replace(INSTALLED, command))
    verify = [analyze, "verify", "--man=no", str(units / "backup-drills.timer"),
              str(units / "backup-drills.service")]
    verified = subprocess.run(verify, capture_output=True, text=True, timeout=60)
    assert (verified.returncode, verified.stdout + verified.stderr) == (0, "")
    # systemd-analyze verify exits 0 on what systemd ignores: its words are the check
    service = (units / "backup-drills.service").read_text()
    (units / "backup-drills.service").write_text(service.replace("Type=oneshot", "Type=one-shot"))
    typo = subprocess.run(verify, capture_output=True, text=True, timeout=60)
    assert "Failed to parse service type, ignoring: one-shot" in typo.stdout + typo.stderr
    service = unit_settings("backup-drills.service")
    assert service["Type"] == ["oneshot"]
    assert service["User"] == ["drill"]
    assert service["TimeoutStartSec"] == ["4h"]  # oneshot units have no start timeout otherwise
    assert unit_settings("backup-drills.timer")["Persistent"] == ["true"]


def test_the_three_recipes_fire_at_the_same_times_and_run_a_drill_command_that_exists(tmp_path):
    schedule, user, command = cron_entry()
    assert user == "drill"
    cron_job = yaml.safe_load((RECIPES / "backup-drills-cronjob.yaml").read_text())
    assert (cron_job["apiVersion"], cron_job["kind"]) == ("batch/v1", "CronJob")
    spec = cron_job["spec"]
    assert cron_times(spec["schedule"]) == cron_times(schedule)  # as Debian's cron reads both
    assert (spec["timeZone"], spec["concurrencyPolicy"]) == ("Etc/UTC", "Forbid")
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0  # a retry would drill, and notify, twice
    assert job["activeDeadlineSeconds"] > 0
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    mounted = {volume["name"] for volume in container["volumeMounts"]}
    assert mounted == {volume["name"] for volume in pod["volumes"]}
    (calendar,) = unit_settings("backup-drills.timer")["OnCalendar"]
    analyze = shutil.which("systemd-analyze")
    if analyze is not None:  # the timer's firings, as systemd reads them, against cron's
        start = datetime.now(UTC).replace(tzinfo=None)
        shown = subprocess.run([analyze, "calendar", "--iterations=8", calendar], capture_output=True,
                               text=True, timeout=60, env={**os.environ, "TZ": "UTC"})
        (read,) = parse_analyze(shown.stdout, 8)
        cron = CronSim(five_fields(schedule), start)
        assert list(read.firings) == [next(cron) for _ in range(8)]
    (exec_start,) = unit_settings("backup-drills.service")["ExecStart"]
    commands = {"systemd": drills_words(exec_start), "cron": drills_words(command),
                "kubernetes": container["command"]}
    assert commands["systemd"] == commands["cron"] == [INSTALLED, *commands["kubernetes"][1:]]
    run = collect_only(commands["kubernetes"], tmp_path)  # the same words: one run proves all three
    assert run.returncode == 0, run.stdout + run.stderr
    assert "markers.feature::test_the_jobs_status_marker_reports" in run.stdout, run.stdout
