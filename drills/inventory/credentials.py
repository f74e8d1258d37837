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
from collections.abc import Iterator

HIDDEN = "***"
# a URL's user:password@ (scheme://user:password@host), anywhere in a value
_URL_USERINFO = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://(?P<userinfo>[^\s/@'\"]*)@")
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:'\"]*:)[^\s/@'\"]*@")
# restic's sftp:user:password@host:/path, and ssh's user:password@host (a jump host), as masked
_BARE_PASSWORD = re.compile(r"(?:^|(?<=[\s,'\"])|(?<=sftp:))(?!sftp:)(?P<head>[^\s/@:,'\"]+:)"
                            r"[^\s/@,'\"]*@")
# an rclone option of a connection string as it may appear in any text: ,name=value
_OPTION = re.compile(r"(?<=,)(?P<name>[A-Za-z0-9_-]+)=(?P<value>'(?:[^']|'')*'?|\"(?:[^\"]|\"\")*\"?"
                     r"|[^,:\s'\"]*)")
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


def mask(text: str) -> str:
    """``text`` with every password of a URL or ``user:password@host``, and the value of every
    secret rclone option (``,secret_access_key=...``), replaced by ``***``, wherever they are."""
    text = _OPTION.sub(lambda m: f"{m['name']}={HIDDEN}" if secret_option(m["name"]) else m[0], text)
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
                "as RESTIC_PASSWORD_FILE or RESTIC_PASSWORD_COMMAND")
    remote = _env_name(value)
    return (f"a password in the URL: move it to the host's credentials_env file as "
            f"RCLONE_CONFIG_{remote}_USER and RCLONE_CONFIG_{remote}_PASS, and write the URL "
            "without it")
