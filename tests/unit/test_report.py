import os
import stat

import pytest

from backup_drills.cli import evidence_main as main
from backup_drills.evidence.report import ReportError, build_report, find_allure
from backup_drills.exit_codes import ExitCode


def fake_allure(tmp_path, script):
    path = tmp_path / "allure"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def results(tmp_path):
    folder = tmp_path / "allure-results"
    folder.mkdir()
    (folder / "0-result.json").write_text("{}")
    return folder


def test_no_results_is_a_clear_error_before_allure_runs(tmp_path):
    with pytest.raises(ReportError, match="no Allure results; run `backup-drills run` first"):
        build_report(tmp_path / "none", tmp_path / "html", tmp_path / "history.jsonl")


def test_allure_is_found_from_the_environment_first(tmp_path, monkeypatch):
    monkeypatch.setenv("ALLURE", str(tmp_path / "my-allure"))
    assert find_allure() == tmp_path / "my-allure"


def test_a_failing_allure_is_reported_with_its_exit_code_and_message(tmp_path, results, monkeypatch):
    monkeypatch.setenv("ALLURE", str(fake_allure(tmp_path, "echo 'bad results' >&2; exit 3\n")))
    with pytest.raises(ReportError, match=r"Allure failed \(exit 3\): bad results"):
        build_report(results, tmp_path / "html", tmp_path / "history.jsonl")


def test_a_missing_allure_binary_points_at_the_setup(tmp_path, results, monkeypatch, capsys):
    monkeypatch.setenv("ALLURE", str(tmp_path / "nowhere" / "allure"))
    code = main(["report", "--results", str(results), "--out", str(tmp_path / "html"),
                 "--history", str(tmp_path / "history.jsonl")])
    assert code == ExitCode.COULD_NOT_RUN  # a tool missing
    assert "set ALLURE to Allure 3's path" in capsys.readouterr().err


def test_no_results_to_report_on_is_bad_input_naming_the_command_that_writes_them(tmp_path, capsys):
    code = main(["report", "--results", str(tmp_path / "none"), "--out", str(tmp_path / "html"),
                 "--history", str(tmp_path / "history.jsonl")])
    assert code == ExitCode.BAD_INPUT
    assert "no Allure results; run `backup-drills run` first" in capsys.readouterr().err


def test_the_report_command_passes_results_output_and_history(tmp_path, results, monkeypatch):
    # the fake records its arguments and writes the index Allure would write
    script = 'echo "$@" > "$(dirname "$0")/args"; mkdir -p "$5"; touch "$5/index.html"\n'
    monkeypatch.setenv("ALLURE", str(fake_allure(tmp_path, script)))
    index = build_report(results, tmp_path / "html", tmp_path / "sub" / "history.jsonl")
    assert index == tmp_path / "html" / "index.html"
    args = (tmp_path / "args").read_text().split()
    assert args[:3] == ["awesome", str(results), "--single-file"]
    assert args[args.index("--history-path") + 1] == str(tmp_path / "sub" / "history.jsonl")
    assert (tmp_path / "sub").is_dir()
    assert os.environ.get("NO_COLOR") is None  # set for Allure only
