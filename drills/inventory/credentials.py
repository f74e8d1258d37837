"""Credentials written inside an inventory's URLs and remotes: found at load time (they would
reach argv, evidence and logs), named without being shown, and masked wherever the value is.

    >>> secret_in("rest:https://drill:hunter2@backup.example.net/flux", "repository")
    "a password in the URL: move it to the host's credentials_env file ..."
    >>> mask(":s3,provider=AWS,secret_access_key=abc:bucket")
    ':s3,provider=AWS,secret_access_key=***:bucket'
    >>> mask("rest:https://drill:hunter2@backup.example.net/flux")
    'rest:https://drill:***@backup.example.net/flux'
    >>> secret_in("b2mirror:space-mirror", "destination") is None
    True

Secret rclone options are those whose name has a word rclone marks sensitive or a password
(``pass``, ``password``, ``secret``, ``token``, ``key``, ``account``, ``credentials``, ...);
a name ending in ``_file``, ``_path`` or ``_command`` names where the secret is, not the secret.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backup_drills.inventory.schema import Job

HIDDEN = "***"
# a URL's user:password@ (scheme://user:password@host), anywhere in a value
_URL_USERINFO = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://(?P<userinfo>[^\s/@'\"]*)@")
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:'\"]*:)[^\s/@'\"]*@")
# restic's sftp:user:password@host:/path, and ssh's user:password@host (a jump host), as masked
_BARE_PASSWORD = re.compile(r"(?:^|(?<=[\s,'\"])|(?<=sftp:))(?!sftp:)(?P<head>[^\s/@:,'\"]+:)"
                            r"[^\s/@,'\"]*@")
# an rclone option of a connection string as it may appear in any text: ,name= and its value,
# quoted (whole), or unquoted (where it ends is found by _unquoted_end)
_OPTION = re.compile(r"(?<=,)(?P<name>[A-Za-z0-9_-]+)=(?P<quoted>'(?:[^']|'')*'?|\"(?:[^\"]|\"\")*\"?)?")
_NEXT_OPTION = re.compile(r",[A-Za-z0-9_-]+=")
_SECRET_WORDS = frozenset({"pass", "password", "password2", "passphrase", "passwd", "secret", "token",
                           "key", "account", "credentials", "credential", "pem", "sas", "signature",
                           "cookie", "session", "apikey", "bearer", "private", "auth_token"})
_NOT_SECRET_ENDINGS = ("file", "path", "command", "algorithm", "type", "mode", "region")


def secret_option(name: str) -> bool:
    """Whether an rclone option holds a secret: ``secret_access_key``, ``pass``, ``token``,
    ``key`` (B2's application key), ``account``, ``sas_url``...; not ``key_file``."""
    words = name.strip().lower().replace("-", "_").split("_")
    if words[-1] in _NOT_SECRET_ENDINGS:
        return False
    return any(word in _SECRET_WORDS for word in words)


def rclone_options(remote: str) -> Iterator[tuple[str, int, int]]:
    """The options of an rclone connection string (``:s3,provider=AWS,key='a:b':bucket/dir``
    or ``name,option=value:path``): each option's name and where its value starts and ends
    (quotes with ``'`` or ``"``, a quote doubled inside). Nothing for a plain ``name:path``."""
    i = 1 if remote.startswith(":") else 0
    while i < len(remote) and remote[i] not in ",:":
        i += 1
    while i < len(remote) and remote[i] == ",":
        name_start = i = i + 1
        while i < len(remote) and remote[i] not in "=,:":
            i += 1
        name, start = remote[name_start:i], i
        if i < len(remote) and remote[i] == "=":
            i = start = i + 1
            if i < len(remote) and remote[i] in "'\"":
                quote, i = remote[i], i + 1
                while i < len(remote):
                    if remote[i] == quote and remote[i + 1:i + 2] == quote:
                        i += 2
                    elif remote[i] == quote:
                        i += 1
                        break
                    else:
                        i += 1
            else:
                while i < len(remote) and remote[i] not in ",:":
                    i += 1
        yield name, start, i


def _rclone_part(value: str) -> str:
    """The rclone remote inside a value: restic's ``rclone:REMOTE:path``, or the value itself."""
    return value.removeprefix("rclone:")


def _secret_options(value: str) -> list[tuple[str, int, int]]:
    remote = _rclone_part(value)
    offset = len(value) - len(remote)
    return [(name, offset + start, offset + end) for name, start, end in rclone_options(remote)
            if secret_option(name) and end > start]


def _unquoted_end(text: str, start: int) -> int:
    """Where an unquoted option value starting at ``start`` ends, erring towards more: at the
    next ``,name=`` option; else at the last ``:`` (rclone's end of the options, before the path:
    a value may hold colons, as a SAS URL does); else at the end of the text the connection
    string is in (the quote it was opened with, or else the next blank) or of all the text."""
    token = max(text.rfind(blank, 0, start) for blank in " \t\n\r") + 1
    opened = re.search(r"['\"]", text[token:start])
    if opened:  # the connection string is quoted in the text (a repr, JSON, a shell word)
        close = re.compile(rf"(?<!\\){opened[0]}(?=[\s,:;)\]}}]|$)")
        found = close.search(text, start)
        end = found.start() if found else len(text)
    else:
        found = re.compile(r"\s").search(text, start)
        end = found.start() if found else len(text)
    following = _NEXT_OPTION.search(text, start, end)
    if following:
        return following.start()
    colon = text.rfind(":", start, end)
    return colon if colon >= 0 else end


def _masked_options(text: str) -> str:
    """``text`` with the value of every secret rclone option hidden, none of it left."""
    parts, done = [], 0
    for option in _OPTION.finditer(text):
        if option.start() < done or not secret_option(option["name"]):
            continue
        start = option.end("name") + 1
        end = option.end() if option["quoted"] else _unquoted_end(text, start)
        parts += [text[done:start], HIDDEN]
        done = end
    return "".join(parts) + text[done:]


def mask(text: str) -> str:
    """``text`` with every password of a URL or ``user:password@host``, and the value of every
    secret rclone option (``,secret_access_key=...``), replaced by ``***``, wherever they are."""
    text = _masked_options(text)
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{HIDDEN}@", text)
    return _BARE_PASSWORD.sub(lambda m: f"{m['head']}{HIDDEN}@", text)


def _env_name(value: str) -> str:
    remote = _rclone_part(value)
    name = re.match(r":?([^,:]*)", remote)
    written = name.group(1) if name else ""
    return "NAME" if remote.startswith(":") or not written else re.sub(r"\W", "_", written).upper()


REPOSITORY = ("RESTIC_REST_USERNAME and RESTIC_REST_PASSWORD for rest:, AWS_ACCESS_KEY_ID and "
              "AWS_SECRET_ACCESS_KEY for s3:, an ssh key for sftp: and ssh://")


def _password_in(value: str, key: str) -> bool:
    """A password in a URL's user:password@, restic's ``sftp:user:password@host:/path``, or a
    jump host's ``user:password@host`` (a list of them, comma-separated)."""
    if any(":" in found["userinfo"] for found in _URL_USERINFO.finditer(value)):
        return True
    if key == "repository" and value.startswith("sftp:") and not value.startswith("sftp://"):
        userinfo, at, _ = value[len("sftp:"):].partition("@")
        return bool(at) and "/" not in userinfo and ":" in userinfo
    if key == "jump_host":
        hops = (hop.strip().removeprefix("ssh://") for hop in value.split(","))
        return any(":" in hop.rpartition("@")[0] for hop in hops)
    return False


def secret_in(value: str, key: str) -> str | None:
    """What secret ``value`` (the inventory key ``key``) holds and where it belongs instead, in
    words that never repeat it; None when it holds none."""
    options = [name for name, _, _ in _secret_options(value)]
    if options:
        remote = _env_name(value)
        named = ", ".join(f"RCLONE_CONFIG_{remote}_{option.upper()}" for option in options)
        fly = (f" (and RCLONE_CONFIG_{remote}_TYPE, then write {remote.lower()}:path instead of "
               "the on-the-fly :backend,...: remote)") if remote == "NAME" else ""
        return (f"secret rclone option(s) {', '.join(repr(o) for o in options)} in the remote: move "
                f"them to the host's credentials_env file as {named}{fly}, and write the remote "
                "without them")
    if not _password_in(value, key):
        return None
    if key in ("jump_host", "transport"):
        return ("a password in the URL: log in with an ssh key instead (ssh_identity_file, or "
                "IdentityFile in the host's ssh_config); a login password never belongs in the "
                "inventory")
    if key == "repository":
        return (f"a password in the URL: move it to the host's credentials_env file ({REPOSITORY}), "
                "and write the URL without it; the repository's own password belongs there too, "
                "as RESTIC_PASSWORD_FILE or RESTIC_PASSWORD_COMMAND (or the job's password_file "
                "or password_command)")
    remote = _env_name(value)
    return (f"a password in the URL: move it to the host's credentials_env file as "
            f"RCLONE_CONFIG_{remote}_USER and RCLONE_CONFIG_{remote}_PASS, and write the URL "
            "without it")


# the variables through which restic and borg take a repository's password, in every form they
# document: a job's own password_file or password_command replaces whichever its env file set
PASSWORD_VARIABLES = ("RESTIC_PASSWORD", "RESTIC_PASSWORD_FILE", "RESTIC_PASSWORD_COMMAND",
                      "BORG_PASSPHRASE", "BORG_PASSCOMMAND", "BORG_PASSPHRASE_FD")


def password_variables(password_file: str | None,
                       password_command: Sequence[str] | None) -> dict[str, str]:
    """The environment a job's ``password_file`` or ``password_command`` becomes, for restic and
    borg alike (each reads its own names): a file is restic's ``RESTIC_PASSWORD_FILE`` and borg's
    ``BORG_PASSCOMMAND`` ``cat -- FILE``; a command is ``RESTIC_PASSWORD_COMMAND`` and
    ``BORG_PASSCOMMAND``, its words quoted so that restic's splitter and borg's shlex both read
    them back as the same words (the inventory refuses words with quotes or backslashes).

    >>> password_variables("/etc/restic/flux pw", None)["BORG_PASSCOMMAND"]
    "cat -- '/etc/restic/flux pw'"
    >>> password_variables(None, ["pass", "show", "restic/flux"])["RESTIC_PASSWORD_COMMAND"]
    'pass show restic/flux'
    """
    if password_file is not None:
        return {"RESTIC_PASSWORD_FILE": password_file,
                "BORG_PASSCOMMAND": shlex.join(["cat", "--", password_file])}
    if password_command:
        command = " ".join(shlex.quote(word) for word in password_command)
        return {"RESTIC_PASSWORD_COMMAND": command, "BORG_PASSCOMMAND": command}
    return {}


def own_credentials(job: Job, loads: Sequence[str] = ()) -> str:
    """The credentials a job declares itself, as a finding names them after the tool's words
    (nothing when the job uses its host's); ``loads``: the names of the credentials its
    ``credentials_unit`` loads (never their values):

    >>> from backup_drills.inventory.schema import Job
    >>> own_credentials(Job.model_construct(name="flux", credentials_env=None, password_command=None,
    ...                                     password_file="/etc/restic/flux.pw"))
    " (with job flux's password_file /etc/restic/flux.pw)"
    >>> own_credentials(Job.model_construct(name="b", credentials_unit="borgmatic.service"), ["borgmatic_pw"])
    " (with job b's credentials_unit borgmatic.service, its credential borgmatic_pw)"
    """
    named = [f"{key} {value if isinstance(value, str) else ' '.join(value)}"
             for key in ("credentials_env", "password_file", "password_command", "credentials_unit",
                         "password_credential")
             if (value := getattr(job, key, None))]
    if loads and getattr(job, "credentials_unit", None) and not getattr(job, "password_credential", None):
        named[-1] += f", its credential{'s' if len(loads) > 1 else ''} {', '.join(loads)}"
    return f" (with job {job.name}'s {' and '.join(named)})" if named else ""


def password_exports(job: Job) -> str:
    """The shell text that gives the job's own password form to restic and borg, over any
    password an env file set (borg prefers ``BORG_PASSPHRASE`` to ``BORG_PASSCOMMAND``): each
    value quoted; a ``password_credential`` is a file of ``$CREDENTIALS_DIRECTORY``, expanded
    when the command runs (``backup_drills.core.unit_credentials``). Empty when the job has none.

    >>> from backup_drills.inventory.schema import Job
    >>> password_exports(Job.model_construct(password_file=None, password_command=None,
    ...                                      password_credential="restic.pw")).split("; ")[1]
    'export RESTIC_PASSWORD_FILE="$CREDENTIALS_DIRECTORY"/restic.pw'
    """
    credential = getattr(job, "password_credential", None)
    values = password_variables(job.password_file, job.password_command)
    if not values and credential is None:
        return ""
    exports = [f"export {name}={shlex.quote(value)}" for name, value in values.items()]
    if credential is not None:
        name = shlex.quote(credential)
        exports = [f'export RESTIC_PASSWORD_FILE="$CREDENTIALS_DIRECTORY"/{name}',
                   f'export BORG_PASSCOMMAND="cat -- $CREDENTIALS_DIRECTORY/"{name}']
    return f"unset {' '.join(PASSWORD_VARIABLES)}; " + "".join(f"{line}; " for line in exports)
