"""Kinds with behaviour: every kind's tool is a class behind ``BackupTool``, chosen by the registry,
and no code outside a tool's own module (and the registry) compares a kind or tool name."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from backup_drills.adapters.tool import (
    BackupTool,
    DiffsSnapshots,
    FindsPaths,
    HoldsLocks,
    Mirrors,
    NotSupported,
    ReadsSubsets,
    capable,
    every_tool,
    tool_class,
)
from backup_drills.inventory.kinds import KINDS
from backup_drills.inventory.schema import Job

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ROOT / "drills" / "inventory" / "kinds.py"
# files that read tools' names on a host, not choose behaviour by a job's kind: each with why
READS_HOSTS = {ROOT / "drills" / "inventory" / "discover.py":
               "recognises the tools a host's own timers and cron lines call, by program name"}
MEMBERS = [name for name in dir(BackupTool) if not name.startswith("_")] + \
    list(BackupTool.__annotations__)


def _module_file(tool: type) -> Path:
    return Path(inspect.getfile(tool)).resolve()


def _names() -> dict[str, set[Path]]:
    """Each registered kind, tag and tool name, with the files allowed to compare it: the
    registry, and the module of the tool that keeps that kind (of a tool name: its own)."""
    allowed: dict[str, set[Path]] = {}
    for kind in KINDS.values():
        home = _module_file(tool_class(Job.model_construct(kind=kind.name)))
        for name in (kind.name, kind.tag):
            allowed.setdefault(name, {REGISTRY}).add(home)
    for tool in every_tool():
        allowed.setdefault(tool.name, {REGISTRY}).add(_module_file(tool))
    return allowed


def _strings(node: ast.expr) -> list[str]:
    """The string constants a comparison operand is, or holds (``in ("restic", "borg")``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [s for element in node.elts for s in _strings(element)]
    return []


def comparisons(path: Path, names: dict[str, set[Path]]) -> list[str]:
    """``file:line: == 'restic'`` for each comparison in ``path`` against a registered name
    that file may not compare."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Compare):
            continue
        for operand in (node.left, *node.comparators):
            for value in _strings(operand):
                if value in names and path.resolve() not in names[value]:
                    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
                    found.append(f"{shown}:{node.lineno}: compares {value!r}")
    return found


def test_no_code_outside_a_tools_module_compares_kind_or_tool_names():
    names = _names()
    found = [hit for folder in ("drills", "steps") for path in sorted((ROOT / folder).rglob("*.py"))
             if path not in READS_HOSTS for hit in comparisons(path, names)]
    assert found == []


def test_the_check_finds_a_comparison(tmp_path):
    """The check can fail: a step that chooses behaviour by the kind's name is named."""
    step = tmp_path / "chooses.py"
    step.write_text('def chosen(job):\n    return job.kind == "borg" or job.kind in ("rclone-mirror",)\n')
    assert comparisons(step, _names()) == ["chooses.py:2: compares 'borg'",
                                           "chooses.py:2: compares 'rclone-mirror'"]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_chooses_a_tool_that_has_the_whole_protocol(kind):
    tool = tool_class(Job.model_construct(kind=kind))
    missing = [member for member in MEMBERS if not hasattr(tool, member) and member not in ("remote", "job")]
    assert missing == [], f"{tool.__name__} lacks {missing}"
    assert all((tool.backend, tool.noun, tool.newest, tool.prune))


def test_each_backend_is_probed_by_its_own_tool():
    by_backend = {tool.backend: tool.name for tool in every_tool()}
    assert by_backend == {"restic repository": "restic", "borg repository": "borg", "bucket": "rclone",
                          "borgmatic repository": "borgmatic"}
    assert every_tool()[0].probe_words("/r", 30)[:2] == ["restic", "-r"]


SHARED = (ROOT / "drills" / "core" / "tool_errors.py", ROOT / "drills" / "core" / "backends.py")


def _literals(path: Path) -> list[tuple[int, str]]:
    """(line, text) of each string constant in ``path`` that is not a docstring."""
    tree = ast.parse(path.read_text(), str(path))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def _phrases(table) -> set[str]:
    return {says for says, _, _ in table.says} | {says for says, _ in table.findings} | set(table.noise)


def _own_phrases() -> dict[str, set[Path]]:
    """Each phrase of a tool's ``ERRORS`` table that the shared tables do not hold, with the
    modules of the tools whose table holds it (borgmatic's holds borg's)."""
    from backup_drills.core import tool_errors

    shared = tool_errors.UNREACHABLE + tool_errors.OBJECT_STORE
    common = _phrases(shared)
    homes: dict[str, set[Path]] = {}
    for tool in every_tool():
        for phrase in _phrases(tool.ERRORS):
            if phrase not in common:
                homes.setdefault(phrase, set()).add(_module_file(tool))
    return homes


def test_every_tool_has_its_own_error_words_and_no_phrase_lives_outside_its_module():
    homes = _own_phrases()
    assert {tool.name for tool in every_tool() if not tool.ERRORS.says} == set()
    found = [f"{path.relative_to(ROOT)}:{line}: {text!r}" for folder in ("drills", "steps")
             for path in sorted((ROOT / folder).rglob("*.py"))
             for line, text in _literals(path) if text in homes and path.resolve() not in homes[text]]
    assert found == []


def test_the_shared_error_code_names_no_tool():
    names = {tool.name for tool in every_tool()} | {"borg", "restic", "rclone"}
    found = [f"{path.name}:{line}: {text!r}" for path in SHARED for line, text in _literals(path)
             if any(name in text.lower() for name in names)]
    assert found == []


def test_the_phrase_check_can_fail(tmp_path):
    """A phrase of borg's table copied into another module is found."""
    copied = tmp_path / "copied.py"
    phrase = next(iter(p for p, homes in _own_phrases().items() if "borg.py" in {h.name for h in homes}))
    copied.write_text(f'"""doc"""\nSAYS = ({phrase!r}, "damage")\n')
    assert [text for _, text in _literals(copied)] == [phrase, "damage"]
    assert copied.resolve() not in _own_phrases()[phrase]


# files that build a tool themselves, each with why (everything else asks tool_for)
BUILDS_A_TOOL = {ROOT / "drills" / "restores" / "databases.py":
                 "a dump's copy in the job's rclone destination (the job's own tool keeps its snapshots)"}


def test_verdicts_steps_and_restores_reach_a_tool_only_through_the_registry():
    classes = {tool.__name__ for tool in every_tool()}
    homes = {_module_file(tool) for tool in every_tool()}
    found = [f"{path.relative_to(ROOT)}:{node.lineno}: {node.func.id}(...)"
             for folder in ("drills", "steps") for path in sorted((ROOT / folder).rglob("*.py"))
             if path.resolve() not in homes and path.resolve() not in BUILDS_A_TOOL
             for node in ast.walk(ast.parse(path.read_text(), str(path)))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in classes]
    assert found == []


class _Host:
    name = "motoko"


@pytest.mark.parametrize(("kind", "capability", "has"), [
    ("restic", FindsPaths, True), ("restic", DiffsSnapshots, True), ("restic", ReadsSubsets, True),
    ("restic", HoldsLocks, True), ("restic", Mirrors, False),
    ("borg", FindsPaths, False), ("borg", DiffsSnapshots, False), ("borg", ReadsSubsets, False),
    ("borg", HoldsLocks, False), ("borgmatic", ReadsSubsets, False),
    ("rclone-mirror", Mirrors, True), ("rclone-mirror", DiffsSnapshots, False),
])
def test_a_tool_without_a_capability_declines_it_naming_host_job_and_tool(kind, capability, has):
    job = Job.model_construct(kind=kind, name="j", repository="/r", source="/s", destination="b:x",
                              config=None)
    tool = tool_class(job).__new__(tool_class(job))
    tool.remote, tool.job = _Host(), job
    if has:
        assert capable(tool, capability, "lacks it") is tool
    else:
        with pytest.raises(NotSupported, match=f"^host motoko, job j: {tool.name} lacks it$"):
            capable(tool, capability, "lacks it")
