"""The suite's commands: ``backup-drills run --help`` is the drill's own, every console script
exits by one table (``backup_drills.exit_codes``), and the drill's options never clash with another
plugin's ``--inventory`` (pytest-ansible's)."""

import importlib
import inspect
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from backup_drills.cli import main
from backup_drills.exit_codes import ExitCode

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = {**tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"],
           **tomllib.loads((ROOT / "lab/pyproject.toml").read_text())["project"]["scripts"]}  # the lab's
EXAMPLE = ROOT / "inventory/example.yml"


def script(name: str):
    """The function a console script of pyproject.toml runs."""
    module, attr = SCRIPTS[name].split(":")
    return getattr(importlib.import_module(module), attr)


def test_run_help_lists_the_drills_options_not_pytests_nor_testinfras(capsys):
    assert main(["run", "--help"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: backup-drills run ")
    for option in ("--inventory FILE, --drill-inventory FILE", "--features DIR", "--no-bundled",
                   "--allow-writes", "--shard I/N", "--remote-timeout SECONDS", "--evidence-dir DIR",
                   "--sign-evidence KEY", "--prometheus-textfile PATH", "--waivers PATH",
                   "--pytest-help", "-k EXPRESSION", "-m MARKEXPR", "-o log_cli=true"):
        assert option in text, option
    assert "exit codes: 0 verified; 1 not compliant; 2 could not run; 3 internal error; 4 bad input" in text
    for foreign in ("--hosts", "--sudo", "--nagios", "pytest.main()", "--fixtures"):
        assert foreign not in text, foreign
    assert len(text.splitlines()) < 90  # one screen and a bit, not pytest's 560 lines


def test_pytest_help_is_pytests_with_the_drills_options_and_without_testinfras(tmp_path):
    done = subprocess.run([*script_argv("backup-drills"), "run", "--pytest-help"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--drill-inventory" in done.stdout
    assert "--fixtures" in done.stdout
    assert "the old spelling of --drill-inventory" in done.stdout  # no other plugin took it here
    assert "--nagios" not in done.stdout  # testinfra's plugin: off
    assert "--hosts" not in done.stdout


def script_argv(name: str) -> list[str]:
    """A console script run as its entry point says, with this interpreter."""
    module, attr = SCRIPTS[name].split(":")
    return [sys.executable, "-c", f"import sys; from {module} import {attr}; sys.exit({attr}())"]


def _boom(*args: object, **kwargs: object) -> None:
    raise KeyError("an impossible state")  # a bug: no verdict, no bad input


def _break(monkeypatch: pytest.MonkeyPatch, function, name: str) -> None:
    """Make the name ``function`` calls raise, wherever that function's module is."""
    monkeypatch.setitem(inspect.unwrap(function).__globals__, name, _boom)


# each console script, with commands that meet an unexpected exception (a bug) and bad input
UNEXPECTED = {
    "backup-drills": [
        (lambda mp: _break(mp, importlib.import_module("backup_drills.run").run_main, "_pytest"), ["run"]),
        (lambda mp: _break(mp, main, "load_inventory"), ["inventory", "check", str(EXAMPLE)]),
        (lambda mp: _break(mp, main, "load_inventory"), ["sudoers", "--inventory", str(EXAMPLE)]),
        (lambda mp: _break(mp, script("drill-evidence"), "build_report"), ["report"]),
        (lambda mp: _break(mp, script("drill-evidence"), "merge"),
         ["merge", "--evidence", "shard", "--out", "merged"]),
        (lambda mp: _break(mp, importlib.import_module("backup_drills.inventory.discover").discover_main,
                           "hosts_of"), ["discover", "local://"]),
    ],
    "drill-evidence": [(lambda mp: _break(mp, script("drill-evidence"), "keygen"), ["keygen", "--out", "k"]),
                       (lambda mp: _break(mp, script("drill-evidence"), "verify_path"),
                        ["verify", ".", "--key", "evidence.pub"])],
    "drill-lab": [(lambda mp: _break(mp, script("drill-lab"), "Lab"), ["status"])],
    "drill-steps": [(lambda mp: _break(mp, script("drill-steps"), "current"), [])],
}
BAD_INPUT = {
    "backup-drills": [["inventory", "check", "no-such.yml"], ["run", "--features", "no-such-folder"],
                      ["--no-such-option"], ["inventory", "check"], ["discover"]],
    "drill-evidence": [["no-such-command"], ["keygen"]],
    "drill-lab": [["no-such-command"]],
    "drill-steps": [["--no-such-option"]],
}


def test_every_console_script_has_its_cases():
    assert set(SCRIPTS) == set(UNEXPECTED) == set(BAD_INPUT)


@pytest.mark.parametrize(("name", "case"), [(name, case) for name, cases in UNEXPECTED.items()
                                            for case in range(len(cases))])
def test_an_unexpected_exception_is_exit_3_never_1(name, case, monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    breaks, argv = UNEXPECTED[name][case]
    breaks(monkeypatch)
    assert script(name)(argv) == ExitCode.INTERNAL_ERROR
    err = capsys.readouterr().err
    assert "KeyError: 'an impossible state'" in err  # the traceback, for the bug report
    assert err.rstrip().endswith("internal error (exit 3): the traceback above is a bug of "
                                 "backup-drills, not a verdict on any backup")


@pytest.mark.parametrize(("name", "argv"), [(name, argv) for name, cases in BAD_INPUT.items()
                                            for argv in cases])
def test_bad_input_is_exit_4(name, argv, monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    assert script(name)(argv) == ExitCode.BAD_INPUT
    assert capsys.readouterr().err  # and it says why


def test_an_interrupted_command_is_could_not_run(monkeypatch, capsys):
    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setitem(inspect.unwrap(main).__globals__, "load_inventory", interrupted)
    assert main(["inventory", "check", str(EXAMPLE)]) == ExitCode.COULD_NOT_RUN
    assert "interrupted: no verdict" in capsys.readouterr().err


def test_the_console_scripts_are_the_guarded_functions():
    """What pip installs calls the wrapped function (``functools.wraps`` keeps the original)."""
    for name in SCRIPTS:
        assert hasattr(script(name), "__wrapped__"), name


def test_a_drill_that_drills_nothing_is_bad_input(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "features"), f"--drill-inventory={EXAMPLE}",
         "-k", "no-such-job", "-p", "no:cacheprovider", f"--evidence-dir={tmp_path / 'e'}",
         f"--alluredir={tmp_path / 'a'}", "-q"], cwd=tmp_path, capture_output=True, text=True,
        timeout=120)
    assert done.returncode == ExitCode.BAD_INPUT, done.stdout + done.stderr
    assert "nothing to drill: no scenario matches a job of the inventory" in done.stdout


# pytest-ansible registers --inventory (and --ansible-inventory) from its pytest11 entry point; a
# plugin given with -p is registered before the entry points, a rootdir conftest.py after them
ANSIBLE_LIKE = '''
def pytest_addoption(parser):
    parser.getgroup("pytest-ansible-like").addoption(
        "--inventory", "--ansible-inventory", dest="ansible_inventory", default="none",
        help="THE OTHER PLUGIN'S inventory")


def pytest_configure(config):
    print(f"other plugin's inventory: {config.option.ansible_inventory}; "
          f"the drill's: {config.option.inventory}")
'''


@pytest.mark.parametrize("how", ["plugin", "conftest"])
def test_another_plugins_inventory_option_keeps_it_and_the_drill_takes_drill_inventory(tmp_path, how):
    (tmp_path / ("ansible_like.py" if how == "plugin" else "conftest.py")).write_text(ANSIBLE_LIKE)
    load = ["-p", "ansible_like"] if how == "plugin" else []
    env = {"PYTHONPATH": str(tmp_path)}
    base = [sys.executable, "-m", "pytest", *load, "-p", "no:cacheprovider", f"--rootdir={tmp_path}"]
    # testinfra's own plugin registers --ansible-inventory too: beside pytest-ansible, testinfra's
    # plugin must be off (the drill needs only its library; backup-drills run turns it off)
    clash = subprocess.run([*base, str(tmp_path), "--help"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=120, env=_env(env))
    assert "conflicting option string: --ansible-inventory" in clash.stderr, clash.stderr
    base += ["-p", "no:pytest11.testinfra"]
    helped = subprocess.run([*base, str(tmp_path), "--help"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, env=_env(env))
    assert helped.returncode == 0, helped.stdout + helped.stderr  # no "conflicting option string"
    assert "THE OTHER PLUGIN'S inventory" in helped.stdout
    assert "--drill-inventory" in helped.stdout
    assert "the old spelling of --drill-inventory" not in helped.stdout
    drilled = subprocess.run(
        [*base, str(tmp_path), str(ROOT / "features/schedules.feature"), f"--drill-inventory={EXAMPLE}",
         "--inventory=hosts.ini", "--collect-only", "-q", "-s"], cwd=tmp_path, capture_output=True,
        text=True, timeout=120, env=_env(env))
    assert drilled.returncode == 0, drilled.stdout + drilled.stderr
    assert f"other plugin's inventory: hosts.ini; the drill's: {EXAMPLE}" in drilled.stdout
    assert "::test_the_jobs_last_run_succeeded[restic-check@motoko]" in drilled.stdout


def test_without_another_plugin_the_old_inventory_spelling_still_drills(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "features/schedules.feature"), f"--inventory={EXAMPLE}",
         "-p", "no:cacheprovider", "--collect-only", "-q"], cwd=tmp_path, capture_output=True,
        text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "schedules.feature::" in done.stdout


def _env(extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **extra}


def test_every_console_script_and_documented_module_runs_with_python_m():
    """``python -m MODULE`` does what the console script of that module does (each has its
    ``if __name__ == "__main__":``), for every script of pyproject.toml and every
    ``python -m drills...`` the docs name."""
    modules = {target.split(":")[0] for target in SCRIPTS.values()}
    docs = "\n".join(p.read_text() for p in (ROOT / "docs").glob("*.md"))
    modules |= set(re.findall(r"python -m ((?:backup_drills|lab)(?:\.\w+)+)", docs))
    assert {"backup_drills.cli", "lab.cli", "backup_drills.steps.plugin.catalogue",
            "backup_drills.inventory.reference"} <= modules
    for module in sorted(modules):
        ran = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True,
                             cwd=ROOT, timeout=120)
        assert ran.returncode == 0, (module, ran.stderr[-500:])
        assert "usage:" in ran.stdout, (module, ran.stdout[:300])


@pytest.mark.parametrize(("args", "errors"), [
    (["run", "--pytest-help"], "into the pipe"),  # 2>&1 | head
    (["run", f"--inventory={EXAMPLE}", "--collect-only", "-p", "no:cacheprovider", "-k", "motoko"], "apart")])
def test_a_closed_output_pipe_is_could_not_run_without_a_traceback(tmp_path, args, errors):
    """``backup-drills run ... | head``: the reader closes the pipe before the command is done.
    Here it is closed before the command writes a line, so every write meets it closed."""
    reader, writer = os.pipe()
    os.close(reader)  # no reader left: the first write is EPIPE (Python ignores SIGPIPE)
    stderr = writer if errors == "into the pipe" else subprocess.PIPE
    done = subprocess.run([*script_argv("backup-drills"), *args], cwd=tmp_path, stdout=writer,
                          stderr=stderr, text=True, timeout=120)
    os.close(writer)
    assert done.returncode == ExitCode.COULD_NOT_RUN, done.stderr
    assert not done.stderr, done.stderr  # no traceback, no "Exception ignored" at exit


HELPS = [[], ["run"], ["inventory"], ["inventory", "check"], ["report"], ["evidence"], ["evidence", "verify"],
         ["steps"], ["merge"], ["discover"], ["sudoers"]]


@pytest.mark.parametrize("words", HELPS, ids=lambda words: " ".join(words) or "backup-drills")
def test_every_commands_help_is_plain_text_with_its_defaults(words, capsys):
    assert main([*words, "--help"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"usage: {' '.join(['backup-drills', *words])}")
    assert "``" not in text  # reStructuredText's, from a docstring
    for option in re.findall(r"^  (--[a-z-]+) [A-Z]", text, re.MULTILINE):  # an option with a value
        described = text.split(f"  {option} ", 1)[1].split("\n  -", 1)[0]
        assert len(described.split()) > 1, f"{option}: no help text"
    flat = " ".join(text.split())
    if words == ["report"]:
        assert "(default: reports/allure-results)" in flat
        assert "(default: reports/html)" in flat
    if words == ["discover"]:
        assert "(default: 30)" in flat
    if words == ["steps"]:  # the whole first paragraph, and --check says it needs a checkout
        assert "so features are written without reading Python" in flat
        assert "an installed wheel has no docs/" in flat


def test_drill_steps_help_names_drill_steps(capsys):
    assert script("drill-steps")(["--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: drill-steps ")
