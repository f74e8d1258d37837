"""What a backup job runs, read from its text: systemd units, cron lines, shell and Python
scripts, and the command lines of restic, borg, borgmatic and rclone. Pure functions over text
read from a host (every value hostile: nothing here runs, imports or evaluates it).

    >>> unit = parse_unit("[Service]\\nEnvironment=BORG_REPO=/srv/borg\\n"
    ...                   "ExecStart=/usr/bin/borg create ::a /data\\n")
    >>> unit.exec_start, unit.environment
    (['/usr/bin/borg create ::a /data'], {'BORG_REPO': '/srv/borg'})
    >>> [c.tool for c in shell_calls("set -a; . /etc/b.env\\nexec restic backup /srv -r s3:x/y\\n").tools]
    ['restic']

The heuristic, documented in docs/discover.md: a command is a tool call when its program's base
name is ``restic``, ``borg``, ``borgmatic`` or ``rclone``; an absolute path that is none of them
is a script to read (shell: each simple command; Python: each list or tuple whose first item is
a tool's name, with names, module constants, ``os.environ.get("X", "default")`` and the
arguments of the calls that reach it resolved; a word passed to a Python script that names one
of its functions, or a key of a dict of functions, narrows the reading to that function).
Anything else is left unresolved (``None``), never guessed.
"""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass, field
from pathlib import PurePosixPath

TOOLS = ("restic", "borg", "borgmatic", "rclone")
MAX_SCRIPT = 256 * 1024  # bytes of a script read; a larger one is left unread
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VAR = re.compile(r"^\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\}"
                  r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))$")
# commands that run the next word as the program (their own options are skipped)
_WRAPPERS = frozenset({"exec", "command", "nice", "ionice", "chronic", "env", "nohup", "sudo",
                       "setsid", "systemd-inhibit", "flock", "timeout", "caffeinate"})


@dataclass(frozen=True)
class Var:
    """An environment variable a command reads, and the default it falls back to."""

    name: str
    default: str | None = None


Word = str | Var | None  # a literal, a variable, or something not understood


@dataclass
class Unit:
    """The parts of a systemd unit (``systemctl cat`` output, drop-ins included) discovery uses."""

    exec_start: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    environment_files: list[str] = field(default_factory=list)
    on_calendar: list[str] = field(default_factory=list)
    unit: str | None = None  # a timer's Unit=
    description: str = ""


def parse_unit(text: str) -> Unit:
    """ExecStart=, Environment=, EnvironmentFile=, OnCalendar=, Unit= of a unit's text; an empty
    assignment resets a list, as systemd does for drop-ins."""
    unit = Unit()
    for raw in _joined_lines(text):
        line = raw.strip()
        if not line or line.startswith(("#", ";", "[")) or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if key == "ExecStart":
            if not value:
                unit.exec_start.clear()
            else:
                unit.exec_start.append(value.lstrip("@-:+!|"))
        elif key == "Environment":
            try:
                words = shlex.split(value)
            except ValueError:
                continue
            for word in words:
                name, eq, setting = word.partition("=")
                if eq and _NAME.fullmatch(name):
                    unit.environment[name] = setting
        elif key == "EnvironmentFile":
            if value:
                unit.environment_files.append(value.lstrip("-"))
        elif key == "OnCalendar":
            if not value:
                unit.on_calendar.clear()
            else:
                unit.on_calendar.append(value)
        elif key == "Unit":
            unit.unit = value
        elif key == "Description":
            unit.description = value
    return unit


def _joined_lines(text: str) -> list[str]:
    """Lines with backslash continuations joined."""
    out: list[str] = []
    pending = ""
    for line in text.splitlines():
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        out.append(pending + line)
        pending = ""
    if pending:
        out.append(pending)
    return out


@dataclass(frozen=True)
class ToolCall:
    """One call of a tool: its words after the program (resolved where the text allowed), and
    where it was found (``/usr/local/sbin/borg-job line 13``)."""

    tool: str
    words: tuple[Word, ...]
    where: str


@dataclass(frozen=True)
class ScriptCall:
    """A command that runs another program by its absolute path: a script to read next."""

    path: str
    words: tuple[Word, ...]
    where: str


@dataclass
class Reading:
    """What one command or script does: the tools it calls, the scripts it runs, the env files
    it sources, the variables it sets, and the strings it names (paths, URLs: for markers and
    metrics)."""

    tools: list[ToolCall] = field(default_factory=list)
    scripts: list[ScriptCall] = field(default_factory=list)
    env_files: list[str] = field(default_factory=list)
    assigned: dict[str, Word] = field(default_factory=dict)
    named: list[Word] = field(default_factory=list)
    variables: set[str] = field(default_factory=set)  # every variable read, to ask its value

    def extend(self, other: Reading) -> None:
        self.tools += other.tools
        self.scripts += other.scripts
        self.env_files += [f for f in other.env_files if f not in self.env_files]
        self.assigned.update(other.assigned)
        self.named += other.named
        self.variables |= other.variables


def _shell_word(word: str) -> Word:
    found = _VAR.match(word)
    if found:
        return Var(found["braced"] or found["bare"], found["default"])
    return None if "$" in word or "`" in word else word


def shell_calls(text: str, where: str = "command") -> Reading:
    """The simple commands of shell text (a cron line's command, ExecStart=, a script), split at
    ``;``, ``&&``, ``||``, ``|``, ``&`` and parentheses, redirections dropped."""
    reading = Reading()
    for number, line in enumerate(_joined_lines(text), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        lexer = shlex.shlex(stripped, posix=True, punctuation_chars=";&|()<>")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            tokens = list(lexer)
        except ValueError:  # an unclosed quote: the line is not understood
            continue
        place = f"{where} line {number}" if "\n" in text.strip() else where
        for command in _simple_commands(tokens):
            _read_command(command, reading, place)
    for word in (*reading.named, *(w for call in reading.tools for w in call.words)):
        if isinstance(word, Var):
            reading.variables.add(word.name)
    return reading


def _simple_commands(tokens: list[str]) -> list[list[str]]:
    commands: list[list[str]] = [[]]
    skip = False
    for token in tokens:
        if skip:
            skip = False
            continue
        if token and set(token) <= set("<>&") and (">" in token or "<" in token):
            skip = True  # a redirection and its target
            continue
        if token and set(token) <= set(";&|()"):
            commands.append([])
            continue
        commands[-1].append(token)
    return [c for c in commands if c]


def _read_command(words: list[str], reading: Reading, where: str) -> None:
    while words and "=" in words[0] and _NAME.fullmatch(words[0].partition("=")[0]):
        name, _, value = words.pop(0).partition("=")
        reading.assigned[name] = _shell_word(value) if value else ""
        reading.named.append(reading.assigned[name])
    if not words:
        return
    if words[0] == "export":
        for word in words[1:]:
            name, eq, value = word.partition("=")
            if eq and _NAME.fullmatch(name):
                reading.assigned[name] = _shell_word(value)
        return
    if words[0] in (".", "source") and len(words) > 1:
        if words[1].startswith("/"):
            reading.env_files.append(words[1])
        return
    while words and PurePosixPath(words[0]).name in _WRAPPERS:
        words = _after_wrapper(words)
    if not words:
        return
    program = words[0]
    rest = tuple(_shell_word(word) for word in words[1:])
    reading.named += [w for w in rest if w is not None]
    if PurePosixPath(program).name in TOOLS:
        reading.tools.append(ToolCall(PurePosixPath(program).name, rest, where))
    elif program.startswith("/"):
        reading.scripts.append(ScriptCall(program, rest, where))


def _after_wrapper(words: list[str]) -> list[str]:
    """The command a wrapper (``nice -n 10``, ``env A=b``, ``timeout 1h``, ``flock LOCK``) runs."""
    name = PurePosixPath(words[0]).name
    rest = words[1:]
    while rest and (rest[0].startswith("-") or (name == "env" and "=" in rest[0])):
        option = rest.pop(0)
        if option in ("-n", "-c", "-u", "-g", "-w", "-E", "-s", "-k") and rest and name != "env":
            rest.pop(0)
    if name in ("timeout", "flock") and rest:
        rest.pop(0)  # the duration, the lock file
    return rest


# --- Python scripts ----------------------------------------------------------------------------

_MAX_DEPTH = 5


@dataclass
class _Module:
    constants: dict[str, Word]
    functions: dict[str, ast.FunctionDef]
    dispatch: dict[str, str]  # a word passed to the script -> the function it runs
    path: str
    budget: int = 300  # function bodies left to walk (a hostile script cannot make it explode)
    seen: set[str] = field(default_factory=set)  # the variables the script reads
    walked: set[tuple[str, tuple[tuple[str, Word], ...]]] = field(default_factory=set)


def python_calls(text: str, path: str, arguments: tuple[Word, ...] = (),
                 env: dict[str, str] | None = None) -> Reading:
    """The tool calls of a Python script, never run or imported: parsed with ``ast``. A first
    argument that names a function (``backup-job restic-backup`` -> ``restic_backup``, or a key
    of a dict of functions) narrows the reading to that function and what it calls."""
    reading = Reading()
    try:
        tree = ast.parse(text[:MAX_SCRIPT])
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return reading
    known = dict(env or {})
    module = _Module({}, {}, {}, path)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            module.functions[node.name] = node
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            module.constants[node.targets[0].id] = _evaluate(node.value, {}, module, known)
            if isinstance(node.value, ast.Dict):
                for key, item in zip(node.value.keys, node.value.values, strict=True):
                    if isinstance(key, ast.Constant) and isinstance(key.value, str) \
                            and isinstance(item, ast.Name):
                        module.dispatch[key.value] = item.id
    first = arguments[0] if arguments else None
    chosen = None
    if isinstance(first, str):
        chosen = module.dispatch.get(first) or (first.replace("-", "_") if first.replace(
            "-", "_") in module.functions else None)
    if chosen in module.functions:
        _walk_function(module.functions[chosen], {}, module, known, reading, 0)
    else:
        _walk_body([n for n in tree.body if not isinstance(n, ast.FunctionDef)], {}, module, known,
                   reading, 0)
        for function in module.functions.values():  # each once; no call followed (all are read)
            _walk_function(function, {}, module, known, reading, _MAX_DEPTH)
    reading.variables |= module.seen
    reading.tools = list(dict.fromkeys(reading.tools))  # a helper called from many places: once
    return reading


def _walk_function(function: ast.FunctionDef, bound: dict[str, Word], module: _Module,
                   env: dict[str, str], reading: Reading, depth: int) -> None:
    key = (function.name, tuple(sorted(bound.items(), key=lambda item: item[0])))
    if module.budget <= 0 or key in module.walked:
        return
    module.budget -= 1
    module.walked.add(key)
    scope: dict[str, Word] = {}
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    defaults = [None] * (len(positional) - len(arguments.defaults)) + list(arguments.defaults)
    for argument, default in zip(positional, defaults, strict=True):
        if argument.arg in bound:
            scope[argument.arg] = bound[argument.arg]
        elif default is not None:
            scope[argument.arg] = _evaluate(default, {}, module, env)
    _walk_body(function.body, scope, module, env, reading, depth)


def _walk_body(body: list[ast.stmt], scope: dict[str, Word], module: _Module, env: dict[str, str],
               reading: Reading, depth: int) -> None:
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for node in _nodes(statement):
            if isinstance(node, ast.Name) and node.id not in scope and node.id in module.constants:
                reading.named.append(module.constants[node.id])  # a constant the code reached uses
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and node.value.startswith(("/", "http")):
                reading.named.append(node.value)
            if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
                head = _evaluate(node.elts[0], scope, module, env)
                if isinstance(head, str) and PurePosixPath(head).name in TOOLS:
                    words = tuple(None if isinstance(e, ast.Starred) else _evaluate(e, scope, module, env)
                                  for e in node.elts[1:])
                    reading.tools.append(ToolCall(PurePosixPath(head).name, words,
                                                  f"{module.path} line {node.lineno}"))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id in module.functions and depth < _MAX_DEPTH:
                callee = module.functions[node.func.id]
                names = [a.arg for a in (*callee.args.posonlyargs, *callee.args.args)]
                bound = {name: _evaluate(arg, scope, module, env)
                         for name, arg in zip(names, node.args, strict=False)
                         if not isinstance(arg, ast.Starred)}
                bound.update({k.arg: _evaluate(k.value, scope, module, env)
                              for k in node.keywords if k.arg is not None})
                _walk_function(callee, bound, module, env, reading, depth + 1)
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                and isinstance(statement.targets[0], ast.Name):
            scope[statement.targets[0].id] = _evaluate(statement.value, scope, module, env)
            reading.named.append(scope[statement.targets[0].id])
        elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) \
                and statement.value is not None:
            scope[statement.target.id] = _evaluate(statement.value, scope, module, env)
        for block in ("body", "orelse", "finalbody"):
            inner = getattr(statement, block, None)
            if isinstance(inner, list) and inner and not isinstance(statement, ast.FunctionDef):
                _walk_body(inner, scope, module, env, reading, depth)
        for handler in getattr(statement, "handlers", []) or []:
            _walk_body(handler.body, scope, module, env, reading, depth)


def _nodes(statement: ast.stmt) -> list[ast.AST]:
    """The expression nodes of one statement, not of the statements nested in it (those are
    walked in order, after the assignments before them)."""
    found: list[ast.AST] = []
    pending: list[ast.AST] = [statement]
    while pending:
        node = pending.pop()
        for name, value in ast.iter_fields(node):
            if name in ("body", "orelse", "finalbody", "handlers") and isinstance(value, list):
                continue
            children = value if isinstance(value, list) else [value]
            for child in children:
                if isinstance(child, ast.AST) and not isinstance(child, (ast.Lambda, ast.stmt)):
                    found.append(child)
                    pending.append(child)
    return sorted(found, key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)))


def _evaluate(node: ast.AST, scope: dict[str, Word], module: _Module, env: dict[str, str]) -> Word:
    """A string the expression surely has, a ``Var`` it reads, or None."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.Name):
        if node.id in scope:
            return scope[node.id]
        return module.constants.get(node.id)
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
        for value in node.values:
            found = resolve(_evaluate(value, scope, module, env), env)
            if found is None:
                return None
            if found:
                return found
        return ""
    if isinstance(node, ast.Call) and _is_environ_get(node.func) and node.args:
        name = _evaluate(node.args[0], scope, module, env)
        default = _evaluate(node.args[1], scope, module, env) if len(node.args) > 1 else None
        if isinstance(name, str) and _NAME.fullmatch(name):
            module.seen.add(name)
            return Var(name, default if isinstance(default, str) else None)
        return None
    if isinstance(node, ast.Subscript) and _is_environ(node.value):
        name = _evaluate(node.slice, scope, module, env)
        module.seen.add(name) if isinstance(name, str) and _NAME.fullmatch(name) else None
        return Var(name) if isinstance(name, str) and _NAME.fullmatch(name) else None
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            inner = value.value if isinstance(value, ast.FormattedValue) else value
            if isinstance(value, ast.FormattedValue) and (value.conversion != -1 or value.format_spec):
                return None
            part = resolve(_evaluate(inner, scope, module, env), env)
            if part is None:
                return None
            parts.append(part)
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = resolve(_evaluate(node.left, scope, module, env), env)
        right = resolve(_evaluate(node.right, scope, module, env), env)
        return None if left is None or right is None else left + right
    return None


def _is_environ(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def _is_environ_get(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and (
        (node.attr == "get" and _is_environ(node.value)) or node.attr == "getenv")


def resolve(word: Word, env: dict[str, str]) -> str | None:
    """A word's value: a literal as it is, a variable from ``env`` (else its default)."""
    if isinstance(word, Var):
        found = env.get(word.name)
        return found if found is not None else word.default
    return word


# --- the tools' command lines ------------------------------------------------------------------

# options that take a value, per tool (the rest are flags); ``-x=value`` forms are split first
_VALUED = {
    "restic": {"-r", "--repo", "--repository-file", "--password-file", "-p", "--password-command",
               "--cache-dir", "--cacert", "-o", "--option", "--limit-upload", "--limit-download",
               "--tls-client-cert", "--key-hint", "--pack-size", "--compression", "-e", "--exclude",
               "--exclude-file", "--iexclude", "--iexclude-file", "--exclude-if-present",
               "--exclude-larger-than", "--files-from", "--files-from-verbatim", "--files-from-raw",
               "-H", "--host", "--tag", "--time", "--parent", "--stdin-filename",
               "--read-concurrency", "--read-data-subset", "--keep-last", "--keep-hourly",
               "--keep-daily", "--keep-weekly", "--keep-monthly", "--keep-yearly", "--keep-within",
               "--keep-tag", "--group-by", "--path", "--retry-lock", "--stdin-from-command"},
    "borg": {"-e", "--exclude", "--exclude-from", "--pattern", "--patterns-from",
             "--exclude-if-present", "-C", "--compression", "--comment", "--timestamp",
             "--chunker-params", "--lock-wait", "--remote-path", "--rsh", "--upload-ratelimit",
             "--upload-buffer", "--files-cache", "--checkpoint-interval", "--stdin-name",
             "--stdin-user", "--stdin-group", "--stdin-mode", "--umask", "--filter", "-r",
             "--repo", "-a", "--glob-archives", "--match-archives", "-P", "--prefix",
             "--keep-within", "--keep-last", "--keep-secondly", "--keep-minutely", "-H",
             "--keep-hourly", "-d", "--keep-daily", "-w", "--keep-weekly", "-m", "--keep-monthly",
             "-y", "--keep-yearly", "--debug-topic"},
    "rclone": {"--exclude", "--exclude-from", "--filter", "--filter-from", "--include",
               "--include-from", "--config", "--backup-dir", "--log-file", "--log-level",
               "--transfers", "--checkers", "--bwlimit", "--max-age", "--min-age", "--max-size",
               "--min-size", "--stats", "--suffix", "--files-from", "--max-delete", "--retries",
               "--timeout", "--contimeout", "--tpslimit", "--order-by", "--compare-dest",
               "--copy-dest", "--s3-chunk-size", "--user-agent"},
    "borgmatic": {"-c", "--config", "--override", "-v", "--verbosity", "--syslog-verbosity",
                  "--log-file", "--log-file-verbosity", "--repository"},
}


@dataclass(frozen=True)
class Parsed:
    """A tool's command line: its subcommand, positional words and options (repeated kept)."""

    tool: str
    command: str | None
    positional: tuple[Word, ...]
    options: tuple[tuple[str, Word], ...]
    flags: tuple[str, ...]

    def values(self, *names: str) -> list[Word]:
        return [value for option, value in self.options if option in names]


_SUBCOMMANDS = {
    "restic": {"backup", "check", "forget", "prune", "snapshots", "init", "copy", "restore", "stats",
               "unlock", "mount", "ls", "find", "diff", "cat", "dump", "key", "list", "tag",
               "rebuild-index", "repair", "migrate", "version"},
    "borg": {"create", "prune", "check", "compact", "init", "list", "info", "extract", "delete",
             "mount", "umount", "break-lock", "key", "config", "export-tar", "rcreate", "repo-create",
             "with-lock", "diff", "rename", "recreate", "upgrade", "serve"},
    "rclone": {"sync", "copy", "move", "check", "lsf", "ls", "lsd", "lsl", "cat", "delete", "purge",
               "bisync", "copyto", "moveto", "mkdir", "rmdir", "size", "version", "config", "serve"},
    "borgmatic": {"create", "prune", "compact", "check", "extract", "list", "info", "rlist", "rinfo",
                  "init", "rcreate", "repo-create", "config", "restore", "mount", "borg",
                  "break-lock", "export-tar", "transfer", "delete", "spot"},
}


def parse_tool(call: ToolCall) -> Parsed:
    """The command line of one tool call, by the tool's own option syntax."""
    valued = _VALUED.get(call.tool, set())
    command: str | None = None
    positional: list[Word] = []
    options: list[tuple[str, Word]] = []
    flags: list[str] = []
    words = list(call.words)
    rest_positional = False
    while words:
        word = words.pop(0)
        if isinstance(word, str) and word == "--":
            rest_positional = True
            continue
        if isinstance(word, str) and word.startswith("-") and len(word) > 1 and not rest_positional:
            name, eq, value = word.partition("=")
            if eq:
                options.append((name, value))
            elif name in valued:
                options.append((name, words.pop(0) if words else None))
            else:
                flags.append(name)
            continue
        if command is None and isinstance(word, str) and word in _SUBCOMMANDS.get(call.tool, ()):
            command = word
            continue
        positional.append(word)
    return Parsed(call.tool, command, tuple(positional), tuple(options), tuple(flags))


def split_borg_location(word: str) -> tuple[str | None, str | None]:
    """borg's ``REPO::ARCHIVE`` (``::ARCHIVE``: the repository is ``BORG_REPO``).

    >>> split_borg_location("/srv/borg/flux::{hostname}-{now}"), split_borg_location("::a")
    (('/srv/borg/flux', '{hostname}-{now}'), (None, 'a'))
    """
    if "::" not in word:
        return word or None, None
    repository, _, archive = word.partition("::")
    return repository or None, archive or None


KEEP_OPTIONS = {"--keep-last": "last", "--keep-hourly": "hourly", "--keep-daily": "daily",
                "--keep-weekly": "weekly", "--keep-monthly": "monthly", "--keep-yearly": "yearly",
                "--keep-within": "within", "-H": "hourly", "-d": "daily", "-w": "weekly",
                "-m": "monthly", "-y": "yearly"}
