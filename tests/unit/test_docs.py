"""The manual holds together: every link in README.md and docs/ resolves, and every command in a
```sh or ```console block parses and names something that exists.

Links: a relative link names a file of the checkout, and its #anchor a heading of that file (as
GitHub makes anchors from headings). Commands: each block parses (``bash -n``); each simple
command's program is a console script of pyproject.toml, ``make`` with targets of the Makefile,
``pytest``, a script of the checkout, or a standard program (on PATH here, or in STANDARD: the
programs a reader's host has that this machine need not). A console script's subcommands and its
options (``--name``, ``-x``) must appear in that (sub)command's own ``--help``, run as a reader
would run it; pytest's options in ``pytest --help`` of the checkout. Positional arguments (file
names, hosts) are not judged: they are the reader's.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BIN = Path(sys.executable).parent
# programs the docs name that a reader's machine has and this one need not (a Kubernetes
# client, a cron daemon's crontab, a package manager of another distribution)
STANDARD = {"kubectl", "crontab", "visudo", "useradd", "install", "systemctl", "journalctl",
            "systemd-analyze", "ssh-keyscan", "ssh-keygen", "sudo", "pip", "python3", "python",
            "git", "docker", "sysctl", "cp", "mkdir", "chmod", "chown", "cat", "echo", "exit",
            "set", "export", "cd", "test", "true", "false", "bash", "sh", "env", "curl", "read",
            "jq", "diff", "find", "sort", "sha256sum", "gpg", ".", "source"}
KEYWORDS = {"case", "esac", "in", "if", "then", "else", "elif", "fi", "for", "while", "do", "done",
            "{", "}", "!"}
FENCE = re.compile(r"^(```+|~~~+)(\S*)[^\n]*\n(.*?)^\1\s*$", re.MULTILINE | re.DOTALL)


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _prose(text: str) -> str:
    """The page without its fenced blocks and inline code (where a link is only an example)."""
    text = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return re.sub(r"(`+)(?:(?!\1).)+\1", "", text)


def anchors(page: Path) -> set[str]:
    """The anchors GitHub makes of a page's headings: lowercased, punctuation but '-' and '_'
    dropped, spaces to '-'; a repeated heading gets -1, -2, ..."""
    seen: dict[str, int] = {}
    found = set()
    for heading in re.findall(r"^#{1,6}\s+(.*?)\s*#*\s*$", _prose(page.read_text()), re.MULTILINE):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
        slug = re.sub(r"[^\w\- ]", "", text).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    # inline code in a heading is prose for its anchor: read the raw headings too
    for heading in re.findall(r"^#{1,6}\s+(.*`.*?)\s*$", FENCE.sub("", page.read_text()), re.MULTILINE):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
        found.add(re.sub(r"[^\w\- ]", "", text).replace(" ", "-"))
    return found


def links(page: Path) -> list[str]:
    return re.findall(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", _prose(page.read_text()))


def broken_links(page: Path) -> list[str]:
    problems = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...: not the checkout's
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists() or ROOT not in (resolved, *resolved.parents):
            problems.append(f"{_rel(page)}: ({target}): no such file in the checkout")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{_rel(page)}: ({target}): {_rel(resolved)} has no heading #{anchor}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_every_link_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_a_broken_link_and_anchor_are_found() -> None:
    page = ROOT / "docs" / "index.md"
    assert any("no heading #no-such-heading" in problem for problem in broken_links_of(
        page, "[x](verdicts.md#no-such-heading) [y](no-such-page.md)"))
    assert any("no-such-page.md" in problem for problem in broken_links_of(page, "[y](no-such-page.md)"))
    assert broken_links_of(page, "[ok](verdicts.md#bounds) `[code](nowhere.md)`") == []


def broken_links_of(page: Path, text: str) -> list[str]:
    """broken_links of ``text`` as if it were written in ``page``'s folder."""
    probe = page.parent / f".probe-{os.getpid()}.md"
    probe.write_text(text)
    try:
        return broken_links(probe)
    finally:
        probe.unlink()


# -- commands ------------------------------------------------------------------------------------

def blocks(page: Path) -> list[tuple[int, str, str]]:
    """(line, language, text) of each ```sh / ```console block; console keeps the ``$ `` lines."""
    found = []
    text = page.read_text()
    for match in FENCE.finditer(text):
        language, body = match.group(2), match.group(3)
        line = text.count("\n", 0, match.start()) + 2
        if language in ("sh", "bash", "shell"):
            found.append((line, language, body))
        elif language == "console":
            found.append((line, language, "\n".join(row[2:] for row in body.splitlines()
                                                    if row.startswith("$ "))))
    return found


def simple_commands(script: str) -> list[list[str]]:
    """The words of each simple command of a script, comments, assignments and keywords left
    out: ``a x && b y | c; case $s in 0) d ;; esac`` gives [[a, x], [b, y], [c], [d]]."""
    commands: list[list[str]] = []
    for line in script.replace("\\\n", " ").splitlines():
        line = re.sub(r"^\s*[^\s()]+\)\s", " ", line)  # a case pattern: 0) ... or *) ...
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
        lexer.whitespace_split = True
        lexer.commenting = True
        current: list[str] = []
        redirected = False
        for word in lexer:
            if redirected:  # the file a redirection names: not a command
                redirected = False
            elif set(word) <= set("<>&") and set(word) & set("<>"):
                redirected = True
            elif set(word) <= set(";&|()<>"):
                commands.append(current)
                current = []
            else:
                current.append(word)
        commands.append(current)
    kept = []
    for words in commands:
        while words and (re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]) or words[0] in KEYWORDS):
            if words[0] in ("case", "for"):  # case WORD in / for NAME in LIST
                words = []
                break
            words = words[1:]
        if words:
            kept.append(words)
    return kept


def scripts() -> dict[str, str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def make_targets() -> set[str]:
    return set(re.findall(r"^([A-Za-z0-9_.-]+):", (ROOT / "Makefile").read_text(), re.MULTILINE))


@cache
def help_of(*words: str) -> str:
    """What ``PROGRAM [SUBCOMMAND...] --help`` prints: the console script's own function called in
    this process (its entry point in pyproject.toml), or run as a reader would for pytest and for
    ``backup-drills run``, which start pytest."""
    if words[0] in scripts() and words[:2] != ("backup-drills", "run"):
        return _called(scripts()[words[0]], [*words[1:], "--help"])
    program = shutil.which(words[0], path=str(BIN)) or words[0]
    result = subprocess.run([program, *words[1:], "--help"], capture_output=True, text=True,
                            timeout=120, cwd=ROOT, check=False)
    text = result.stdout + result.stderr
    if "--pytest-help" in text:  # a command that keeps pytest's own options behind a flag
        text += subprocess.run([program, *words[1:], "--pytest-help"], capture_output=True,
                               text=True, timeout=120, cwd=ROOT, check=False).stdout
    return text


def _called(entry: str, argv: list[str]) -> str:
    """The output of ``module:function`` called with ``argv``, as its console script runs it."""
    module, _, name = entry.partition(":")
    function = getattr(importlib.import_module(module), name)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), \
            contextlib.suppress(SystemExit):
        function(argv)
    return out.getvalue()


def has_option(help_text: str, option: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", help_text) is not None


def choices(help_text: str) -> set[str]:
    """The subcommands a usage line offers: ``{run,inventory,report}``."""
    usage = help_text.split("\n\n", 1)[0]
    return {word for group in re.findall(r"\{([\w,-]+)\}", usage) for word in group.split(",")}


def command_problems(words: list[str]) -> list[str]:
    """Why a command is not one the reader can run, or []."""
    program = words[0]
    name = program.rsplit("/", 1)[-1]
    if program.startswith("$"):  # $EDITOR: the reader's
        return []
    if name in scripts():
        return cli_problems([name, *words[1:]])
    if name == "make":
        targets = [word for word in words[1:] if not word.startswith("-") and "=" not in word]
        return [f"make {target}: no such target in the Makefile" for target in targets
                if target not in make_targets()]
    if name == "pytest":
        options = [word.split("=", 1)[0] for word in words[1:] if word.startswith("-")]
        return [f"pytest {option}: not an option of `pytest --help`" for option in options
                if not has_option(help_of("pytest"), option)]
    if name.startswith("python") and len(words) > 1 and words[1].endswith(".py"):
        return [] if (ROOT / words[1]).is_file() else [f"{words[1]}: no such script in the checkout"]
    if name in STANDARD or shutil.which(name) or shutil.which(name, path=str(BIN)):
        return []
    return [f"{program}: neither a console script, a Makefile target nor a standard program"]


def cli_problems(words: list[str]) -> list[str]:
    """A console script's subcommands and options, each against the --help it answers to."""
    path = [words[0]]
    rest = words[1:]
    while rest and not rest[0].startswith("-"):
        offered = choices(help_of(*path))
        if not offered:
            break
        if rest[0] not in offered:
            return [f"{' '.join(path)} {rest[0]}: not a subcommand (offered: {sorted(offered)})"]
        path.append(rest.pop(0))
    text = help_of(*path)
    options = []
    for word in rest:
        if word == "--":
            break
        if re.match(r"^--?[A-Za-z]", word):
            options.append(word.split("=", 1)[0])
    return [f"{' '.join(path)} {option}: not in `{' '.join(path)} --help`" for option in options
            if not has_option(text, option)]


@pytest.mark.parametrize("page", [page for page in PAGES if blocks(page)], ids=_rel)
def test_every_command_parses_and_exists(page: Path) -> None:
    problems = []
    for line, _, script in blocks(page):
        parsed = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True, check=False)
        if parsed.returncode != 0:
            problems.append(f"{_rel(page)}:{line}: bash -n: {parsed.stderr.strip()}")
            continue
        for words in simple_commands(script):
            problems += [f"{_rel(page)}:{line}: {problem}" for problem in command_problems(words)]
    assert problems == []


def test_the_command_rule_can_fail() -> None:
    assert command_problems(["backup-drills", "inventroy", "check", "x.yml"])
    assert command_problems(["backup-drills", "merge", "--evidance", "e"])
    assert command_problems(["make", "no-such-target"])
    assert command_problems(["drill-nothing", "--help"])
    assert command_problems(["pytest", "features/", "--no-such-option"])
    assert command_problems(["backup-drills", "inventory", "check", "x.yml"]) == []
    assert simple_commands("a x && b y | c; case $s in\n  0) d ;;\nesac  # e") == [
        ["a", "x"], ["b", "y"], ["c"], ["d"]]
    assert simple_commands("a < in.json 2>&1 | b > out; diff <(c x) <(d)") == [
        ["a", "2"], ["b"], ["diff"], ["c", "x"], ["d"]]


def test_the_readme_is_a_front_door_whose_quick_start_installs_into_a_virtualenv():
    """Debian 12's system pip refuses to install (PEP 668): every ``pip install`` of the README
    comes after a ``python3 -m venv`` in its block."""
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 150
    installs = 0
    for block in FENCE.finditer(text):
        lines = block.group(3).splitlines()
        for number, line in enumerate(lines):
            if re.match(r"\s*(\S*/)?pip3? install ", line):
                installs += 1
                assert any("-m venv" in earlier for earlier in lines[:number]), line
    assert installs
