"""``backup-drills discover HOST...``: read a host's backup jobs, write a starter inventory.

Read-only: the host's timers and services (``systemctl cat``), its cron files, the scripts they
run, the env files they load (names; a value only for a variable the job's command reads as its
repository, source or destination, never one whose name says it is a secret), the exclude files
named on the tools' command lines, and the JSON markers in folders the scripts name. Each job
written says where it was found; its ``rpo`` and ``rto`` are placeholders that ``inventory
check`` refuses until a person fills them.

    $ backup-drills discover ssh://root@db1.example.net --known-hosts ~/.ssh/known_hosts --out estate.yml
    $ backup-drills discover motoko akira --inventory inventory/lab.yml      # hosts by their name

What is read is hostile: it reaches a shell only as ``argv(...)`` words, and it reaches the YAML
only through the YAML emitter (values) or :func:`comment` (comments, control characters escaped).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import PurePosixPath
from typing import Any, Protocol

import yaml

from backup_drills.adapters.cron import parse_crontab
from backup_drills.core.transport import DrillCouldNotRun, Remote, argv
from backup_drills.inventory.credentials import mask, secret_in
from backup_drills.inventory.discover_scripts import (
    KEEP_OPTIONS,
    MAX_SCRIPT,
    Parsed,
    Reading,
    Word,
    parse_tool,
    parse_unit,
    python_calls,
    resolve,
    shell_calls,
    split_borg_location,
)
from backup_drills.inventory.kinds import KINDS
from backup_drills.inventory.schema import NAME

PLACEHOLDER_RPO = "FILL IN: the most data this job may lose, e.g. 26h"
PLACEHOLDER_RTO = "FILL IN: how long a restore may take, e.g. 4h"
# a variable whose name says it holds a secret: its value is never asked for
_SECRET_NAME = re.compile(r"PASS|SECRET|KEY|TOKEN|CREDENTIAL|AUTH|SESSION", re.IGNORECASE)
# the tools' own variables for where the backups go (read when the command line names none)
_TOOL_VARIABLES = ("RESTIC_REPOSITORY", "BORG_REPO")
_BACKUPISH = re.compile(r"backup|dump|mirror|snapshot|borg|restic|rclone|archive", re.IGNORECASE)
# a timer that fires (list-unit-files' state); a disabled or masked one starts nothing
_TIMER_STATES = frozenset({"enabled", "enabled-runtime", "static", "linked", "linked-runtime",
                           "generated", "transient", "alias", "indirect"})
_MAX_FOLLOW = 3  # scripts followed from a command: a wrapper, the script it runs, one more
_MAX_MARKER_DIRS = 8
_MAX_MARKERS = 24
BORGMATIC_CONFIGS = ("/etc/borgmatic/config.yaml", "/etc/borgmatic.d")
# the sections of a borgmatic 1.7 configuration, which 1.9 reads flattened and deprecates
SECTIONS = ("location", "storage", "retention", "consistency", "output", "hooks")
# where cron reads jobs: Debian's cron and cronie (/var/spool/cron/USER; no crontabs/ folder)
CRON_PLACES = ("/etc/crontab", "/etc/cron.d", "/var/spool/cron", "/var/spool/cron/crontabs")
# each place's files, NUL-separated; a place that exists but cannot be listed (or whose folder
# cannot be searched to know) as "unreadable PLACE" on stderr; a missing one, nothing
_CRON_FILES = ('for place in "$@"; do\n'
               '  if [ -e "$place" ]; then\n'
               '    find -H "$place" -maxdepth 1 -type f -print0 2>/dev/null ||\n'
               '      echo "unreadable $place" >&2\n'
               '  elif [ ! -x "${place%/*}/" ]; then echo "unreadable $place" >&2; fi\n'
               'done\n')


class HostFiles(Protocol):
    """What discovery reads of a host (a ``Remote`` in use, recorded text in unit tests)."""

    def read(self, path: str) -> str | None: ...
    def list_dir(self, path: str, suffix: str) -> list[str] | None: ...
    def env_file(self, path: str, wanted: set[str]) -> tuple[list[str], dict[str, str]] | None: ...


@dataclass
class Trigger:
    """What starts a job: a timer and its service, or a cron line."""

    name: str
    origin: str  # ``motoko: flux-backup.timer -> flux-backup.service ExecStart=...``
    command: str
    environment: dict[str, str] = field(default_factory=dict)
    env_files: list[str] = field(default_factory=list)
    schedule: dict[str, Any] | None = None
    cron: dict[str, str] | None = None
    description: str = ""


@dataclass
class Found:
    """One discovered job, as the starter inventory writes it, and what was noticed about it."""

    name: str
    job: dict[str, Any]
    origin: list[str]
    notes: list[str] = field(default_factory=list)
    env_file: str | None = None
    env_names: list[str] = field(default_factory=list)
    # what the job's kind reads from the host itself at each drill (``Kind.from_host``:
    # borgmatic's configuration): found, shown as comments, not written
    from_host: dict[str, Any] = field(default_factory=dict)


@dataclass
class HostReport:
    host: str
    jobs: list[Found] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)
    env_files: dict[str, list[str]] = field(default_factory=dict)  # file -> variable names


# --- reading a host ----------------------------------------------------------------------------

class RemoteFiles:
    """``HostFiles`` over a ``Remote``: every command reads, every one bounded by its timeout."""

    _ENV_NAMES = (
        'BEGIN { n = split(names, w, " "); for (i = 1; i <= n; i++) want[w[i]] = 1 }\n'
        '{ line = $0; sub(/^[ \\t]*export[ \\t]+/, "", line); sub(/^[ \\t]+/, "", line) }\n'
        'line ~ /^[A-Za-z_][A-Za-z0-9_]*=/ { i = index(line, "="); name = substr(line, 1, i - 1);\n'
        '  if (name in want) print name "=" substr(line, i + 1); else print name }\n')

    def __init__(self, remote: Remote) -> None:
        self.remote = remote

    def read(self, path: str) -> str | None:
        if not path.startswith("/"):
            return None
        result = self.remote.run(argv("head", "-c", str(MAX_SCRIPT), "--", path))
        return result.text if result.ok else None

    def list_dir(self, path: str, suffix: str) -> list[str] | None:
        if not path.startswith("/"):
            return None
        result = self.remote.run(argv("find", path, "-maxdepth", "1", "-type", "f", "-name",
                                      f"*{suffix}", "-print0"))
        if not result.ok:
            return None
        return sorted(name for name in result.text.split("\0") if name)

    def env_file(self, path: str, wanted: set[str]) -> tuple[list[str], dict[str, str]] | None:
        if not path.startswith("/"):
            return None
        asked = sorted(name for name in wanted if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name)
                       and not _SECRET_NAME.search(name))
        result = self.remote.run(argv("awk", "-v", f"names={' '.join(asked)}", self._ENV_NAMES, path))
        if not result.ok:
            return None
        names: list[str] = []
        values: dict[str, str] = {}
        for line in result.text.splitlines():
            name, eq, value = line.partition("=")
            if name not in names:
                names.append(name)
            if eq and name in asked:
                try:
                    words = shlex.split(value, comments=True)
                except ValueError:
                    continue
                values[name] = words[0] if len(words) == 1 else ""
        return names, values

    def cron_files(self, places: tuple[str, ...]) -> tuple[list[str], list[str]]:
        """The files of each cron place (a file or a folder's files), sorted; and the places
        that exist but could not be read. A place that does not exist (cronie has no
        /var/spool/cron/crontabs, Debian's cron no /var/spool/cron/root) is skipped."""
        result = self.remote.run(argv("sh", "-c", _CRON_FILES, "cron-files", *places))
        found = {name for name in result.text.split("\0") if name.startswith("/")}
        unreadable = [line.removeprefix("unreadable ") for line in result.stderr.splitlines()
                      if line.startswith("unreadable ")]
        if not result.ok and not unreadable:
            unreadable = [f"{' '.join(places)} (exit {result.exit_status}: {result.tail(2)})"]
        return sorted(found), unreadable

    def command(self, words: list[str], privileged: bool = False) -> str | None:
        result = self.remote.run(argv(*words), privileged=privileged)
        return result.text if result.ok else None


def read_triggers(remote: Remote, files: RemoteFiles) -> tuple[list[Trigger], list[str]]:
    """The host's timers (with their services) and cron lines; and what could not be read."""
    problems: list[str] = []
    triggers: list[Trigger] = []
    listed = files.command(["systemctl", "list-unit-files", "--type=timer", "--no-legend",
                            "--no-pager", "--plain"])
    if listed is None:
        problems.append("systemctl list-unit-files failed: no systemd timers read")
    for line in (listed or "").splitlines():
        timer, state = [*line.split(), "", ""][:2]
        if not re.fullmatch(r"[A-Za-z0-9:_.\\-]+\.timer", timer) or "@." in timer:
            continue
        if state not in _TIMER_STATES:
            if _BACKUPISH.search(timer):
                problems.append(f"{timer} is installed but {state or 'in no known state'}: it starts "
                                "nothing, no job written")
            continue
        timer_text = files.command(["systemctl", "cat", "--", timer])
        if timer_text is None:
            problems.append(f"systemctl cat {timer} failed")
            continue
        timer_unit = parse_unit(timer_text)
        service = timer_unit.unit or timer.removesuffix(".timer") + ".service"
        service_text = files.command(["systemctl", "cat", "--", service])
        if service_text is None:
            problems.append(f"systemctl cat {service} (of {timer}) failed")
            continue
        triggers += timer_triggers(remote.name, timer, timer_unit.on_calendar, service, service_text)
    cron_files, unreadable = files.cron_files(CRON_PLACES)
    problems += [f"{place}: not readable, its cron jobs not read" for place in unreadable]
    for path in cron_files:
        if path.startswith("/etc/cron.d/") and "." in PurePosixPath(path).name:
            continue  # Debian's cron skips files of /etc/cron.d with a dot in their name
        text = files.read(path)
        if text is None:
            problems.append(f"{path}: not readable")
            continue
        triggers += cron_triggers(remote.name, path, text)
    return triggers, problems


def timer_triggers(host: str, timer: str, calendars: list[str], service: str,
                   service_text: str) -> list[Trigger]:
    """One trigger per ``ExecStart=`` of a timer's service."""
    unit = parse_unit(service_text)
    schedule: dict[str, Any] | None = None
    if calendars:
        schedule = {"timer": timer, "service": service,
                    "on_calendar": calendars[0] if len(calendars) == 1 else list(calendars)}
    return [Trigger(timer.removesuffix(".timer"), f"{host}: {timer} -> {service} ExecStart={command}",
                    command, dict(unit.environment), list(unit.environment_files), schedule,
                    description=unit.description)
            for command in unit.exec_start]


def cron_triggers(host: str, path: str, text: str) -> list[Trigger]:
    """One trigger per cron line of a file (its program: the first absolute path or tool the
    line runs, as ``cron.command`` matches it)."""
    found = []
    for entry in parse_crontab(path, text):
        reading = shell_calls(entry.command)
        program = next((call.path for call in reading.scripts), None) or next(
            (call.tool for call in reading.tools), None)
        if program is None:
            continue
        name = PurePosixPath(path).name if not path.startswith("/var/spool") else \
            f"{PurePosixPath(path).name}-{PurePosixPath(program).name}"
        found.append(Trigger(name, f"{host}: {path} line {entry.line}: {entry.schedule} "
                                   f"{entry.user} {entry.command}", entry.command,
                             cron={"file": path, "schedule": entry.schedule, "command": program}))
    return found


# --- from a trigger to jobs --------------------------------------------------------------------

def analyse(trigger: Trigger, files: HostFiles, env: dict[str, str]) -> Reading:
    """Everything the trigger's command runs: the command, then the scripts it runs (followed
    ``_MAX_FOLLOW`` deep), with ``env`` known to the Python scripts' readers."""
    reading = shell_calls(trigger.command, "ExecStart" if trigger.schedule else "cron line")
    pending = [(call, 1) for call in reading.scripts]
    seen: set[tuple[str, tuple[Word, ...]]] = set()
    while pending:
        call, depth = pending.pop(0)
        if (call.path, call.words) in seen or depth > _MAX_FOLLOW:
            continue
        seen.add((call.path, call.words))
        text = files.read(call.path)
        if text is None or "\0" in text[:4096]:
            continue  # a binary or an unreadable file: its calls stay unknown
        first = text.split("\n", 1)[0]
        known = {**env, **{k: v for k, v in reading.assigned.items() if isinstance(v, str)}}
        inner = python_calls(text, call.path, call.words, known) if first.startswith("#!") \
            and "python" in first else shell_calls(text, call.path)
        reading.extend(inner)
        pending += [(script, depth + 1) for script in inner.scripts]
    return reading


def trigger_env(trigger: Trigger, reading: Reading, files: HostFiles,
                env_names: dict[str, list[str]]) -> tuple[dict[str, str], list[str]]:
    """The values a job's commands see for the variables they read (not secret ones), and its
    env files: the unit's ``Environment=``, then its env files and those its scripts source, then
    what the scripts assign. ``env_names`` collects each file's variable names."""
    wanted = set(reading.variables) | set(_TOOL_VARIABLES)
    env = {k: v for k, v in trigger.environment.items() if k in wanted and not _SECRET_NAME.search(k)}
    used = [*trigger.env_files, *(f for f in reading.env_files if f not in trigger.env_files)]
    for path in used:
        found = files.env_file(path, wanted)
        if found is None:
            continue
        names, values = found
        env_names[path] = names
        env.update(values)
    env.update({k: v for k, v in reading.assigned.items() if isinstance(v, str) and k in wanted})
    return env, used


def jobs_of(trigger: Trigger, files: HostFiles,
            env_names: dict[str, list[str]]) -> tuple[list[Found], list[str]]:
    """The jobs one trigger runs, and a note for each tool call that was not understood."""
    first = analyse(trigger, files, {})
    env, used = trigger_env(trigger, first, files, env_names)
    reading = analyse(trigger, files, env)
    if not reading.tools:
        if _BACKUPISH.search(f"{trigger.name} {trigger.description} {trigger.command}"):
            return [], [f"{trigger.origin} (no restic, borg, borgmatic or rclone call found)"]
        return [], []
    calls = [(parse_tool(call), call.where) for call in reading.tools]
    found: list[Found] = []
    notes: list[str] = []
    backs_up = any(p.tool == "restic" and p.command == "backup" for p, _ in calls)
    for parsed, where in calls:
        job: dict[str, Any] | None = None
        job_notes: list[str] = []  # what was noticed reading its configuration
        if parsed.tool == "restic" and parsed.command == "backup":
            job = _restic_job(parsed, env, files, calls)
        elif parsed.tool == "restic" and parsed.command == "check" and not backs_up:
            job = _restic_check_job(parsed, env)
        elif parsed.tool == "borg" and parsed.command == "create":
            job = _borg_job(parsed, env, files, calls)
        elif parsed.tool == "borgmatic" and parsed.command in (None, "create"):
            job = _borgmatic_job(parsed, env, files, job_notes)
        elif parsed.tool == "rclone" and parsed.command in ("sync", "copy"):
            job = _rclone_job(parsed, env, files)
        if job is None:
            if parsed.command not in ("forget", "prune", "check", "compact") or parsed.tool == "rclone":
                notes.append(f"{trigger.origin}: {parsed.tool} {parsed.command or '(no known subcommand)'} "
                             f"at {where} not understood as a backup job")
            continue
        if trigger.schedule is not None:
            job["schedule"] = trigger.schedule
        if trigger.cron is not None:
            job["cron"] = trigger.cron
        same = next((f for f in found if f.job == job), None)
        if same is not None:  # one job, called on two paths of a script (borg-job --timestamp)
            same.origin.append(_call(parsed, where))
            continue
        name = _job_name(trigger.name, [f.name for f in found])
        env_file = next((f for f in used if f in env_names), None)
        found.append(Found(name, job, [trigger.origin, _call(parsed, where)], notes=job_notes,
                           env_file=env_file, env_names=env_names.get(env_file or "", [])))
    _markers_and_metrics(found, reading, env, files)
    for one in found:
        kind = KINDS.get(one.job["kind"])
        for key in kind.from_host if kind else ():
            if key in one.job:
                one.from_host[key] = one.job.pop(key)
    return found, list(dict.fromkeys(notes))


def _call(parsed: Parsed, where: str) -> str:
    """A tool call as an origin names it: ``borg create at ExecStart``, ``borgmatic at ExecStart``."""
    return " ".join(word for word in (parsed.tool, parsed.command, "at", where) if word)


def _job_name(base: str, taken: list[str]) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-.") or "job"
    if not NAME.fullmatch(name):
        name = f"job-{name}"
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    return candidate


def _value(word: Word, env: dict[str, str]) -> str | None:
    value = resolve(word, env)
    return value if value else None


def _absolute(words: list[Word], env: dict[str, str]) -> list[str | None]:
    return [v if v is not None and v.startswith("/") else None for v in (_value(w, env) for w in words)]


def _exclude_lines(paths: list[Word], env: dict[str, str], files: HostFiles) -> list[str]:
    lines: list[str] = []
    for word in paths:
        path = _value(word, env)
        text = files.read(path) if path else None
        for line in (text or "").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def _retention(calls: list[tuple[Parsed, str]], tool: str, command: str,
               env: dict[str, str]) -> dict[str, Any]:
    policy: dict[str, Any] = {}
    for parsed, _ in calls:
        if parsed.tool != tool or parsed.command != command:
            continue
        for option, word in parsed.options:
            value = _value(word, env)
            key = KEEP_OPTIONS.get(option)
            if key is None or value is None:
                continue
            policy[key] = int(value) if value.isdigit() else value
    return policy


def _repository(word: Word, env: dict[str, str], variable: str) -> str | None:
    return _value(word, env) if word is not None else env.get(variable) or None


def _restic_job(parsed: Parsed, env: dict[str, str], files: HostFiles,
                calls: list[tuple[Parsed, str]]) -> dict[str, Any]:
    sources = _absolute(list(parsed.positional), env)
    repo_words = parsed.values("-r", "--repo")
    job: dict[str, Any] = {"kind": "restic"}
    if len(sources) == 1 and sources[0]:
        job["source"] = sources[0]
    job["repository"] = _repository(repo_words[-1] if repo_words else None, env, "RESTIC_REPOSITORY")
    excludes = [_value(w, env) for w in parsed.values("-e", "--exclude", "--iexclude")]
    excludes += _exclude_lines(parsed.values("--exclude-file", "--iexclude-file"), env, files)
    if any(e is not None for e in excludes):
        job["excludes"] = [e for e in excludes if e is not None]
    retention = _retention(calls, "restic", "forget", env)
    if retention:
        job["retention"] = retention
    return job


def _restic_check_job(parsed: Parsed, env: dict[str, str]) -> dict[str, Any]:
    repo_words = parsed.values("-r", "--repo")
    return {"kind": "restic-check",
            "repository": _repository(repo_words[-1] if repo_words else None, env, "RESTIC_REPOSITORY")}


def _borg_job(parsed: Parsed, env: dict[str, str], files: HostFiles,
              calls: list[tuple[Parsed, str]]) -> dict[str, Any]:
    job: dict[str, Any] = {"kind": "borg"}
    positional = list(parsed.positional)
    repo_words = parsed.values("-r", "--repo")
    repository = _value(repo_words[-1], env) if repo_words else None
    if positional and repository is None:  # borg 1: REPO::ARCHIVE, then the paths
        location = _value(positional.pop(0), env)
        repository = split_borg_location(location)[0] if location else None
    elif positional and repo_words:  # borg 2: --repo REPO create ARCHIVE PATHS
        positional.pop(0)
    sources = _absolute(positional, env)
    if len(sources) == 1 and sources[0]:
        job["source"] = sources[0]
    job["repository"] = repository or env.get("BORG_REPO") or None
    excludes = [_value(w, env) for w in parsed.values("-e", "--exclude")]
    excludes += _exclude_lines(parsed.values("--exclude-from"), env, files)
    if any(e is not None for e in excludes):
        job["excludes"] = [e for e in excludes if e is not None]
    if "--exclude-caches" in parsed.flags:
        job["exclude_caches"] = True
    present = [v for v in (_value(w, env) for w in parsed.values("--exclude-if-present")) if v]
    if present:
        job["exclude_if_present"] = present
    if "--keep-exclude-tags" in parsed.flags:
        job["keep_exclude_tags"] = True
    retention = _retention(calls, "borg", "prune", env)
    if retention:
        job["retention"] = retention
    return job


def _borgmatic_job(parsed: Parsed, env: dict[str, str], files: HostFiles,
                   notes: list[str] | None = None) -> dict[str, Any] | None:
    """borgmatic's own configuration: ``-c`` files, else ``/etc/borgmatic/config.yaml`` and
    ``/etc/borgmatic.d/*.yaml``; its first repository, its one source directory. A configuration
    of sections (borgmatic 1.7's ``location:``, ``retention:``...) is read as borgmatic 1.9
    reads it, flattened, and a note in ``notes`` says borgmatic deprecates it."""
    configs = [v for v in (_value(w, env) for w in parsed.values("-c", "--config")) if v]
    if not configs:
        configs = [BORGMATIC_CONFIGS[0], *(files.list_dir(BORGMATIC_CONFIGS[1], ".yaml") or [])]
    for path in configs:
        text = files.read(path)
        if text is None:
            continue
        try:
            config = yaml.safe_load(text)
        except yaml.YAMLError:
            continue
        if not isinstance(config, dict):
            continue
        section = config.get("location")
        location: dict[str, Any] = section if isinstance(section, dict) else config
        sections = [key for key in SECTIONS if isinstance(config.get(key), dict)]
        if sections and notes is not None:
            notes.append(f"{path}: its sections ({', '.join(f'{k}:' for k in sections)}) are borgmatic 1.7's "
                         "form: borgmatic 1.9 reads them flattened, warning that they are deprecated, "
                         "and so does the drill")
        repositories = location.get("repositories") or []
        first = repositories[0] if isinstance(repositories, list) and repositories else None
        repository = first.get("path") if isinstance(first, dict) else first
        sources = location.get("source_directories") or []
        kind = "borgmatic" if "borgmatic" in KINDS else "borg"
        job: dict[str, Any] = {"kind": kind,
                               "repository": repository if isinstance(repository, str) else None}
        if kind == "borgmatic" and path != BORGMATIC_CONFIGS[0]:
            job["config"] = path
        if isinstance(sources, list) and len(sources) == 1 and isinstance(sources[0], str):
            job["source"] = sources[0]
        excludes = location.get("exclude_patterns")
        if isinstance(excludes, list) and kind == "borg":
            job["excludes"] = [e for e in excludes if isinstance(e, str)]
        kept = config.get("retention")
        retention: dict[str, Any] = kept if isinstance(kept, dict) else config
        policy = {key.removeprefix("keep_"): value for key, value in retention.items()
                  if isinstance(key, str) and key.startswith("keep_") and isinstance(value, int | str)}
        if policy:
            job["retention"] = policy
        return job
    return None


def _rclone_job(parsed: Parsed, env: dict[str, str], files: HostFiles) -> dict[str, Any] | None:
    """``rclone sync|copy SRC DST``: a mirror when SRC is a local folder and DST a remote."""
    if len(parsed.positional) != 2:
        return None
    source, destination = (_value(w, env) for w in parsed.positional)
    if source is None or destination is None or not source.startswith("/") or destination.startswith("/"):
        return None
    job: dict[str, Any] = {"kind": "rclone-mirror", "source": source, "destination": destination}
    excludes = [_value(w, env) for w in parsed.values("--exclude")]
    excludes += _exclude_lines(parsed.values("--exclude-from"), env, files)
    if any(e is not None for e in excludes):
        job["excludes"] = [e for e in excludes if e is not None]
    return job


def _markers_and_metrics(found: list[Found], reading: Reading, env: dict[str, str],
                         files: HostFiles) -> None:
    """JSON markers in the folders the job's scripts name whose own ``repo``/``repository``,
    ``source`` or ``destination`` name the job's; node-exporter ``.prom`` files and Pushgateway
    URLs the scripts name."""
    named = [v for v in (resolve(w, env) for w in reading.named) if v]
    folders = [v for v in dict.fromkeys(named) if v.startswith("/") and not PurePosixPath(v).suffix]
    markers: dict[str, dict[str, Any]] = {}
    for folder in folders[:_MAX_MARKER_DIRS]:
        for path in (files.list_dir(folder, ".json") or [])[:_MAX_MARKERS]:
            text = files.read(path)
            try:
                doc = json.loads(text or "")
            except ValueError:
                continue
            if isinstance(doc, dict):
                markers[path] = doc
    for job in found:
        _attach_marker(job, markers)
        for value in dict.fromkeys(named):
            if value.startswith("/") and value.endswith(".prom"):
                job.job["metrics"] = {"textfile": value}
            match = re.fullmatch(r"(https?://[^/\s@]+)/metrics/job/([^/\s]+)(/.*)?", value)
            if match:
                job.job["metrics"] = {"url": f"{match[1]}/metrics", "labels": {"job": match[2]}}


def _attach_marker(job: Found, markers: dict[str, dict[str, Any]]) -> None:
    fields = job.job
    matching = []
    for path, doc in markers.items():
        repo = doc.get("repo") or doc.get("repository")
        if not (fields.get("repository") or fields.get("destination")):
            continue
        if fields["kind"] == "restic-check":
            ok = repo == fields.get("repository") and "source" not in doc
        elif fields.get("destination"):
            ok = doc.get("destination") == fields["destination"] and doc.get("source") == fields.get("source")
        else:
            ok = repo == fields.get("repository") and doc.get("source") == fields.get("source") is not None
        if ok and doc.get("status", "success") != "failure":
            matching.append(path)
    if len(matching) == 1:
        marker: dict[str, str] = {"path": matching[0]}
        folder = str(PurePosixPath(matching[0]).parent)
        failures = [p for p in markers
                    if str(PurePosixPath(p).parent) == folder and "fail" in PurePosixPath(p).name]
        if len(failures) == 1:
            marker["failure_path"] = failures[0]
        fields["marker"] = marker
        job.origin.append(f"marker {matching[0]}: its repo/source name this job's")
    elif matching:
        job.notes.append(f"markers that may be this job's: {', '.join(matching)}")


# --- samples: a file and a directory for the single-item restores -------------------------------

SAMPLE_KINDS = ("restic", "borg", "rclone-mirror")
SAMPLE_DEPTH = 5  # levels of the source listed
SAMPLE_ENTRIES = 5000  # entries listed at most (a large source is partly listed)
SAMPLE_MAX_BYTES = 16 * 1024 * 1024  # a sample file a restore brings back quickly
OLD = 2 * 24 * 3600  # older than this before the latest run: in older snapshots too (likely)
# the source's files and directories, as ``%y %T@ %s %P``, NUL-separated; find's own exit
# status on stderr (a timeout or an unreadable folder: the listing is partial)
_LIST_SOURCE = ('{ timeout 30 find "$1" -mindepth 1 -maxdepth "$2" \\( -type d -o -type f \\) '
                '-printf "%y %T@ %s %P\\0"; echo "find-status $?" >&2; } | head -z -n "$3"')
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class Entry:
    """One file (``f``) or directory (``d``) of a job's source, by its path relative to it."""

    kind: str
    mtime: float
    size: int
    path: str


@dataclass
class Listing:
    entries: list[Entry]
    complete: bool  # every entry down to SAMPLE_DEPTH listed
    skipped: list[str] = field(default_factory=list)  # hostile names (shown escaped)


def list_source(remote: Remote, source: str) -> Listing | None:
    """The source's entries down to ``SAMPLE_DEPTH`` levels (at most ``SAMPLE_ENTRIES``), read
    only; a name with a control character (a newline) or not UTF-8 is left out and noted."""
    result = remote.run(argv("sh", "-c", _LIST_SOURCE, "list-source", source, str(SAMPLE_DEPTH),
                             str(SAMPLE_ENTRIES)), timeout=60)
    records = [r for r in result.stdout.split(b"\0") if r]
    if not records and "find-status 0" not in result.stderr:
        return None
    listing = Listing([], "find-status 0" in result.stderr and len(records) < SAMPLE_ENTRIES)
    for record in records:
        kind, mtime, size, raw = [*record.split(b" ", 3), b"", b"", b""][:4]
        try:
            path = raw.decode("utf-8")
            entry = Entry(kind.decode(), float(mtime), int(size), path)
        except (UnicodeDecodeError, ValueError):
            listing.skipped.append(raw.decode("utf-8", "backslashreplace"))
            continue
        if _CONTROL.search(path) or not path or ".." in path.split("/"):
            listing.skipped.append(path)
            continue
        listing.entries.append(entry)
    return listing


def last_run(remote: Remote, found: Found) -> tuple[float | None, str]:
    """When the job last ran, as the host knows it: its service's last start that exited 0,
    and its marker's time (the later of the two); and how that was known."""
    known: list[tuple[float, str]] = []
    service = (found.job.get("schedule") or {}).get("service")
    if isinstance(service, str):
        shown = remote.run(argv("systemctl", "show", "--timestamp=unix", "-p", "ExecMainStartTimestamp",
                                "-p", "ExecMainStatus", "--", service), privileged=False)
        values = dict(line.partition("=")[::2] for line in shown.text.splitlines())
        started = values.get("ExecMainStartTimestamp", "").lstrip("@")
        if shown.ok and started.isdigit() and values.get("ExecMainStatus") == "0":
            known.append((float(started), f"{service} last started {_when(float(started))}"))
    marker = (found.job.get("marker") or {}).get("path")
    if isinstance(marker, str):
        stat = remote.run(argv("stat", "-c", "%Y", "--", marker))
        if stat.ok and stat.text.strip().isdigit():
            written = float(stat.text.strip())
            known.append((written, f"its marker {marker} was written {_when(written)}"))
    if not known:
        now = remote.run(argv("date", "+%s"), privileged=False)
        if not now.ok or not now.text.strip().isdigit():
            return None, "the host's time unknown"
        return float(now.text.strip()) - OLD, "none known (no service start, no marker): files 2 days old"
    return max(known)


def _when(seconds: float) -> str:
    """A host's Unix time as a person reads it.

    >>> _when(1796256000)
    '2026-12-03 00:00 UTC'
    """
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def left_out_of(remote: Remote, found: Found, listing: Listing) -> Callable[[str], bool] | None:
    """What the job's backup leaves out, by path relative to its source, by the tool's rules:
    restic's patterns, borg's (its walk, its tags found in the listing), rclone's own ``lsf``
    (None: rclone could not say)."""
    from backup_drills.core.borg_patterns import (
        CACHE_TAG_NAME,
        BorgPatternError,
        PatternMatcher,
        create_excluded,
        parse_exclude,
    )
    from backup_drills.core.patterns import restic_excluded

    job, source = found.job, str(found.job["source"]).rstrip("/") or "/"
    excludes = [e for e in job.get("excludes") or [] if isinstance(e, str)]
    if job["kind"] == "restic":
        return lambda relative: restic_excluded(f"{source}/{relative}", excludes)
    if job["kind"] == "borg":
        try:
            matcher = PatternMatcher([parse_exclude(e) for e in excludes if e], fallback=True)
        except BorgPatternError:
            return None
        directories = {e.path for e in listing.entries if e.kind == "d"}
        names = {e.path for e in listing.entries}
        tags = [CACHE_TAG_NAME] if job.get("exclude_caches") else []
        tags += [t for t in job.get("exclude_if_present") or [] if isinstance(t, str)]

        def tagged(directory: str) -> list[str]:
            inside = directory[len(source):].strip("/")
            return [t for t in tags if (f"{inside}/{t}" if inside else t) in names]

        return lambda relative: create_excluded(
            f"{source}/{relative}", source, matcher,
            lambda p: p == source or p[len(source):].strip("/") in directories, tagged,
            bool(job.get("keep_exclude_tags")))
    if not excludes:
        return lambda relative: False
    words = ["rclone", "lsf", "-R", "--files-only",
             *[w for e in excludes for w in ("--exclude", e)], "--", source]
    listed = remote.run(argv(*words), timeout=60)
    if not listed.ok:
        return None
    kept = frozenset(listed.text.splitlines())
    return lambda relative: relative not in kept


def choose_samples(listing: Listing, cutoff: float,
                   left_out: Callable[[str], bool]) -> tuple[dict[str, str] | None, list[str]]:
    """A file and a directory for the drills' single-item restores, and why: a regular file
    changed before ``cutoff`` (the last run: so in the newest backup), not left out, at most
    ``SAMPLE_MAX_BYTES``; a directory whose every entry is so (fully listed, not the source
    itself). Those older than ``cutoff`` by 2 days first (likely in the oldest kept backup
    too); then a file inside a folder, non-empty, the longest unchanged; a directory of at most
    100 files, the longest unchanged; then by name.

    >>> old = [Entry("d", 0, 0, "a"), Entry("f", 0, 5, "a/x.txt"), Entry("f", 0, 5, "top.txt")]
    >>> choose_samples(Listing(old, True), 10 ** 9, lambda p: False)[0]
    {'file': 'a/x.txt', 'directory': 'a'}
    """
    entries = listing.entries
    kinds = {e.path: e.kind for e in entries}

    def parents(path: str) -> list[str]:
        parts = path.split("/")
        return ["/".join(parts[:i]) for i in range(1, len(parts))]

    bad: set[str] = set()  # directories that hold something unfit (fresh, left out, unlisted)
    unfit = [e.path for e in entries if e.mtime >= cutoff or left_out(e.path)]
    unfit += [e.path for e in entries if e.kind == "d" and e.path.count("/") + 1 >= SAMPLE_DEPTH]
    unfit += [name for name in listing.skipped if "/" in name]
    if not listing.complete and entries:
        unfit.append(entries[-1].path)  # the folder being listed when the listing stopped
    for path in unfit:
        bad.update(parents(path))
        if kinds.get(path) == "d":
            bad.add(path)
    files = [e for e in entries if e.kind == "f" and e.mtime < cutoff and not left_out(e.path)
             and e.size <= SAMPLE_MAX_BYTES]
    if not files:
        return None, ["no file of the source was changed before the last run and kept by the "
                      "job's excludes: no samples written; add a file and a directory you care about"]
    old = cutoff - OLD

    def file_rank(e: Entry) -> tuple[bool, bool, bool, float, str]:
        return (e.mtime >= old, "/" not in e.path, e.size == 0, e.mtime, e.path)

    file = min(files, key=file_rank)
    counts: dict[str, int] = {}
    newest: dict[str, float] = {}
    for e in entries:
        for parent in parents(e.path):
            if e.kind == "f":
                counts[parent] = counts.get(parent, 0) + 1
            newest[parent] = max(newest.get(parent, 0.0), e.mtime)
    directories = [d for d in counts if d not in bad and kinds.get(d) == "d"]
    if not directories:
        return None, [f"{file.path} would fit as the sample file, but no directory of the source "
                      "holds only files changed before the last run and kept: no samples written; "
                      "add a file and a directory you care about"]
    directory = min(directories, key=lambda d: (newest[d] >= old, counts[d] > 100, newest[d], d))
    why = [f"samples: {file.path!r} ({file.size} bytes) and {directory!r} ({counts[directory]} "
           f"file(s)): changed before the last run"
           + (" by 2 days or more (so likely in the oldest kept backup too)"
              if newest[directory] < old and file.mtime < old else ""),
           "and kept by the job's excludes; chosen by discover, not by what matters: replace them "
           "with a file and a directory you need back"]
    return {"file": file.path, "directory": directory}, why


def propose_samples(remote: Remote, report: HostReport) -> None:
    """``samples`` for each restic, borg and rclone-mirror job with a source, read only (a
    listing of the source, the job's last run); where none fits, a note saying so."""
    for found in report.jobs:
        source = found.job.get("source")
        if found.job.get("kind") not in SAMPLE_KINDS or not isinstance(source, str) or "samples" in found.job:
            continue
        listing = list_source(remote, source)
        if listing is None:
            found.notes.append(f"{source} could not be listed: no samples written; add a file and a "
                               "directory you care about")
            continue
        cutoff, since = last_run(remote, found)
        left_out = left_out_of(remote, found, listing)
        if cutoff is None or left_out is None:
            found.notes.append(f"{since if cutoff is None else 'the excludes could not be read'}: no "
                               "samples written; add a file and a directory you care about")
            continue
        samples, why = choose_samples(listing, cutoff - 60, left_out)
        found.notes.append(f"last run: {since}")
        found.notes += why
        if listing.skipped:
            found.notes.append(f"{len(listing.skipped)} name(s) with control characters or not "
                               "UTF-8 never chosen")
        if samples is not None:
            found.job["samples"] = samples


# --- the starter inventory ---------------------------------------------------------------------

def comment(text: str) -> str:
    """One YAML comment line: control characters (a newline in a host's value) escaped, so no
    text read from a host can end the comment and start YAML of its own.

    >>> comment("from x\\nrpo: 1s")
    '# from x\\\\nrpo: 1s'
    """
    escaped = "".join(ch if ch.isprintable() and ch not in "\u2028\u2029\x85" else
                      json.dumps(ch)[1:-1] if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}" for ch in text)
    return f"# {escaped}"


def rpo_guess(gap: timedelta | None) -> str | None:
    """A commented guess of the RPO: the schedule's longest gap and two hours of grace."""
    if gap is None:
        return None
    hours = int((gap + timedelta(hours=2)).total_seconds() // 3600)
    return f"{hours}h" if hours < 72 else f"{(hours + 23) // 24}d"


def render(reports: list[HostReport], hosts: dict[str, dict[str, Any]], name: str = "discovered",
           gaps: dict[str, timedelta | None] | None = None) -> str:
    """The starter inventory's YAML text: hosts, jobs (each with where it was found as
    comments, its rpo and rto placeholders), and what was not understood."""
    out = [comment("Written by `backup-drills discover`: a starting point, not a verdict. Fill each job's"),
           comment("rpo and rto (inventory check refuses the placeholders), then check what was found:"),
           comment("`backup-drills inventory check FILE`."),
           yaml.safe_dump({"name": name}, sort_keys=False, allow_unicode=True).rstrip(), "", "hosts:"]
    for host, entry in hosts.items():
        out.append(_indented({host: entry}, 2))
    out += ["", "jobs:"]
    taken: set[str] = set()
    for report in reports:
        for found in report.jobs:
            key = found.name if found.name not in taken else \
                _job_name(f"{found.name}-{report.host}", list(taken))
            taken.add(key)
            job = {"host": report.host, **{k: v for k, v in found.job.items() if v is not None}}
            if found.env_file and found.env_file != hosts.get(report.host, {}).get("credentials_env"):
                job["credentials_env"] = found.env_file  # not the host's: the job's own
            job["rpo"] = PLACEHOLDER_RPO
            if "rto" in _needs(job["kind"]):
                job["rto"] = PLACEHOLDER_RTO
            out += [f"  {comment('from ' + line)}" for line in found.origin]
            out += [f"  {comment(note)}" for note in found.notes]
            if found.from_host:
                shown = "; ".join(f"{k}: {json.dumps(v, default=str)}" for k, v in found.from_host.items())
                out.append(f"  {comment(f'read from the host at each drill, not written: {shown}')}")
            if found.env_file:
                names = ", ".join(found.env_names) or "none readable"
                out.append(f"  {comment(f'its env file {found.env_file} sets: {names} (values not read)')}")
            guess = rpo_guess((gaps or {}).get(f"{report.host}/{found.name}"))
            if guess:
                out.append(f"  {comment(f'rpo: {guess} would be the schedule longest gap + 2h (a guess)')}")
            missing = [k for k in ("source", "repository", "destination")
                       if k in _needs(job["kind"]) and k not in job]
            if missing:
                out.append(f"  {comment('not found on the host, fill in: ' + ', '.join(missing))}")
            out.append(_indented({key: job}, 2))
    for report in reports:
        for line in report.unrecognised:
            out.append(comment(f"unrecognised: {line}"))
    return "\n".join(out) + "\n"


def _needs(kind: str) -> set[str]:
    found = KINDS.get(kind)
    needs: set[str] = set()
    for need in found.needs if found else ():
        needs |= {need} if isinstance(need, str) else set(need)
    return needs


def _indented(data: dict[str, Any], spaces: int) -> str:
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=120)
    return "\n".join(" " * spaces + line if line else line for line in text.rstrip("\n").split("\n"))


def discover_host(remote: Remote, progress: Callable[[str], None] | None = None) -> HostReport:
    """Every backup job one host runs (read only)."""
    files = RemoteFiles(remote)
    report = HostReport(remote.name)
    triggers, problems = read_triggers(remote, files)
    report.unrecognised += [f"{remote.name}: {p}" for p in problems]
    for trigger in triggers:
        if progress:
            progress(f"{remote.name}: reading {trigger.origin.split(': ', 1)[1][:100]}")
        try:
            jobs, notes = jobs_of(trigger, files, report.env_files)
        except DrillCouldNotRun:
            raise
        report.jobs += jobs
        report.unrecognised += notes
    return report


def schedule_gaps(remote: Remote, report: HostReport) -> dict[str, timedelta | None]:
    """The longest gap between two firings of each job's schedule (for the RPO guess)."""
    from backup_drills.adapters.systemd import calendar_firings
    from backup_drills.core.calendars import five_fields

    gaps: dict[str, timedelta | None] = {}
    for found in report.jobs:
        times: list[Any] = []
        try:
            if "schedule" in found.job:
                calendars = found.job["schedule"]["on_calendar"]
                lines = [calendars] if isinstance(calendars, str) else list(calendars)
                for calendar in calendar_firings(remote, lines, iterations=32):
                    times += calendar.firings
            elif "cron" in found.job:
                from cronsim import CronSim

                sim = iter(CronSim(five_fields(found.job["cron"]["schedule"]), datetime(2026, 1, 1)))
                times = [next(sim) for _ in range(32)]
        except (ValueError, StopIteration):
            times = []
        times = sorted(set(times))
        gaps[f"{report.host}/{found.name}"] = max((b - a for a, b in pairwise(times)),
                                                  default=None)
    return gaps


def mask_secrets(report: HostReport) -> None:
    """A repository or destination with a password inside is written masked, with the reason."""
    for found in report.jobs:
        for key in ("repository", "destination"):
            value = found.job.get(key)
            if isinstance(value, str):
                problem = secret_in(value, key)
                if problem is not None:
                    found.job[key] = mask(value)
                    found.notes.append(f"{key}: {problem}")


# --- the command -------------------------------------------------------------------------------

def _host_name(url: str, taken: set[str]) -> str:
    """``ssh://root@db1.example.net:2222`` is host ``db1.example.net`` (then ``-2``...)."""
    rest = url.split("://", 1)[1] if "://" in url else url
    rest = rest.rsplit("@", 1)[-1].split("/", 1)[0]
    rest = rest.rsplit(":", 1)[0] if rest.count(":") == 1 else rest
    return _job_name(rest or "local", list(taken))


def hosts_of(words: list[str], inventory: str | None, ssh_config: str | None,
             known_hosts: str | None, identity: str | None) -> dict[str, Any]:
    """The hosts to read, as ``schema.Host``s: transport URLs, or names of ``inventory``."""
    from backup_drills.inventory.schema import TRANSPORTS, Host, load_inventory

    declared = load_inventory(inventory).hosts if inventory else {}
    hosts: dict[str, Host] = {}
    for word in words:
        if word.startswith(TRANSPORTS):
            name = _host_name(word, set(hosts))
            settings = {"ssh_config": ssh_config, "ssh_known_hosts": known_hosts,
                        "ssh_identity_file": identity} if word.startswith(("ssh://", "paramiko://")) else {}
            hosts[name] = Host.model_validate({"name": name, "transport": word,
                                               **{k: v for k, v in settings.items() if v}})
        elif word in declared:
            hosts[word] = declared[word]
        else:
            raise ValueError(f"{word!r}: expected a transport URL ({', '.join(TRANSPORTS)}...) or a host "
                             f"of --inventory{f' {inventory}' if inventory else ' (none given)'}")
    return hosts


def host_entry(host: Any, report: HostReport) -> dict[str, Any]:
    """How the starter inventory reaches the host, and its credentials file (``host_env_file``)."""
    entry: dict[str, Any] = {"transport": host.transport}
    for key in ("ssh_config", "ssh_identity_file", "ssh_known_hosts", "ssh_host_key", "jump_host"):
        if getattr(host, key, None):
            entry[key] = getattr(host, key)
    if getattr(host, "sudo", False):
        entry["sudo"] = True
    chosen = host_env_file(report)
    if chosen:
        entry["credentials_env"] = chosen
    return entry


def host_env_file(report: HostReport) -> str | None:
    """The host's ``credentials_env``: the env file most of its jobs load, the first by path
    on a tie (the same every run); a job that loads another gets its own (``render``).

    >>> jobs = [Found(n, {}, [], env_file=f) for n, f in (("a", "/b.env"), ("b", "/a.env"), ("c", None))]
    >>> host_env_file(HostReport("h", jobs))
    '/a.env'
    """
    loaded = [f.env_file for f in report.jobs if f.env_file]
    return min(set(loaded), key=lambda path: (-loaded.count(path), path)) if loaded else None


# transport's advice for an unknown key, for a host of an inventory
_PIN_ADVICE = ", or pin it with ssh_host_key: in the inventory"
EXACT_REFUSED = ("sudo: exact allows the drill's own programs only, and discover reads any file a "
                 "unit or script names (head, find, awk): discover needs root (ssh://root@HOST) or "
                 "sudo: true; keep sudo: exact for the drills")


def discover_main(args: list[str]) -> int:
    """``backup-drills discover HOST... [--out FILE]``: exit 0 written, 2 a host could not be
    read, 4 bad input."""
    import argparse
    import sys
    from pathlib import Path

    from backup_drills.inventory.schema import InventoryError

    parser = argparse.ArgumentParser(
        prog="backup-drills discover",
        description="read hosts' backup jobs (systemd timers, cron; restic, borg, borgmatic, rclone), "
                    "read-only, and write a starter inventory; fill its rpo and rto")
    parser.add_argument("hosts", nargs="+", metavar="HOST",
                        help="a transport URL (ssh://root@db1:22, paramiko://..., local://) or a host "
                             "name of --inventory")
    parser.add_argument("--inventory", help="an inventory whose hosts section says how to reach HOST names")
    parser.add_argument("--ssh-config", help="ssh_config file for ssh:// URLs")
    parser.add_argument("--known-hosts", help="known_hosts file the hosts' keys are checked against "
                                              "(default: your ~/.ssh/known_hosts); never any key")
    parser.add_argument("--identity", help="private key file for ssh:// URLs")
    parser.add_argument("--name", default="discovered", help="the inventory's name")
    parser.add_argument("--out", type=Path, help="write here (default: standard output)")
    parser.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds each remote command may take (default: %(default)g)")
    parsed = parser.parse_args(args)
    if parsed.out is not None and parsed.out.exists() and not parsed.force:
        print(f"backup-drills discover: {parsed.out} exists; --force overwrites it", file=sys.stderr)
        return 4
    try:
        hosts = hosts_of(parsed.hosts, parsed.inventory, parsed.ssh_config, parsed.known_hosts,
                         parsed.identity)
    except (ValueError, InventoryError) as exc:
        print(f"backup-drills discover: {exc}", file=sys.stderr)
        return 4
    reports: list[HostReport] = []
    gaps: dict[str, timedelta | None] = {}
    for name, host in hosts.items():
        if host.sudo == "exact":
            print(f"backup-drills discover: host {name}: {EXACT_REFUSED}", file=sys.stderr)
            return 2
        try:
            remote = Remote(host, timeout=parsed.timeout)  # paramiko://: its extra, or MissingExtra
            report = discover_host(remote)
            mask_secrets(report)
            propose_samples(remote, report)
            gaps.update(schedule_gaps(remote, report))
        except DrillCouldNotRun as exc:
            message = str(exc)
            if host.transport in parsed.hosts:  # a URL, no inventory: its key comes from --known-hosts
                message = message.replace(_PIN_ADVICE, ", or give discover a known_hosts file that "
                                                       "lists it: --known-hosts FILE")
            print(f"backup-drills discover: {message}", file=sys.stderr)
            return 2
        print(f"{name}: {len(report.jobs)} job(s), {len(report.unrecognised)} not understood",
              file=sys.stderr)
        reports.append(report)
    text = render(reports, {r.host: host_entry(hosts[r.host], r) for r in reports}, parsed.name, gaps)
    if parsed.out is None:
        sys.stdout.write(text)
        return 0
    try:
        with parsed.out.open("w" if parsed.force else "x", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        print(f"backup-drills discover: {parsed.out}: {exc.strerror}", file=sys.stderr)
        return 4
    print(f"written: {parsed.out}; fill each job's rpo and rto, then: backup-drills inventory check "
          f"{parsed.out}", file=sys.stderr)
    return 0
