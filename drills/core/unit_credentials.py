"""A systemd service unit's credentials (``LoadCredential=``, ``LoadCredentialEncrypted=``,
``SetCredentialEncrypted=``), for a job whose tool reads its passphrase the way the unit hands it
over: from ``$CREDENTIALS_DIRECTORY`` (``credentials_unit: restic-backup.service``).

systemd's own parse of the unit is read once per host and unit, over D-Bus (``busctl``: the
properties as systemd 252 and 257 both print them as JSON). A job's command then runs under
``drills/scripts/unit-credentials.sh``, which decrypts each credential with ``systemd-creds``
(or copies a plain one) into a private folder in ``/run`` and removes it when the command ends.
The drill never reads a credential's value; an encrypted one set inline in the unit passes
through it still encrypted. ``systemd-run -p LoadCredentialEncrypted=...`` would be systemd
itself, but a transient unit outlives a drill command killed at its time limit, and on a host
whose ``/run`` is not a shared mount (a container) its credentials folder stays empty.

    >>> for found in parse_properties(['{"type":"s","data":"loaded"}',
    ...         '{"type":"a(ss)","data":[["plain","/etc/hostname"]]}',
    ...         '{"type":"a(ss)","data":[["restic.pw","restic.pw"]]}',
    ...         '{"type":"a(say)","data":[["inline",[1,2,3]]]}'], "b.service"):
    ...     print(*found)
    load plain /etc/hostname
    load-encrypted restic.pw restic.pw
    set-encrypted inline AQID
"""

from __future__ import annotations

import base64
import json
import re
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from backup_drills.core.transport import Remote

# a credential's name as systemd accepts it (credential_name_valid: a file name), kept to the
# characters the drill's names allow, so it can never be an option or a path
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._@:+-]*")
_SOURCE = re.compile(r"[^\x00-\x1f\x7f]+")
_READ: dict[tuple[str, str], tuple[UnitCredential, ...]] = {}  # (host, unit) -> as systemd parsed it


class UnitCredential(NamedTuple):
    kind: str  # load, load-encrypted, set-encrypted: the unit-credentials.sh KIND
    name: str
    source: str  # a path, a name in systemd's credstore, or (set-encrypted) the blob in base64


class UnitCredentialsError(ValueError):
    """What systemd says of the unit does not make credentials the drill can load."""


def parse_properties(lines: list[str], unit: str) -> tuple[UnitCredential, ...]:
    """The credentials in ``unit-credentials-read.sh``'s four JSON lines (LoadState, then
    LoadCredential, LoadCredentialEncrypted, SetCredentialEncrypted)."""
    try:
        state, plain, encrypted, inline = (json.loads(line)["data"] for line in lines)
    except (ValueError, KeyError, TypeError) as exc:
        raise UnitCredentialsError(f"unit {unit}: systemd's properties were not read ({exc})") from None
    if state != "loaded":
        raise UnitCredentialsError(f"unit {unit}: systemd has no such unit (LoadState {state})")
    found = [UnitCredential("load", *_pair(entry, unit)) for entry in plain]
    found += [UnitCredential("load-encrypted", *_pair(entry, unit)) for entry in encrypted]
    found += [UnitCredential("set-encrypted", _name(entry[0], unit),
                             base64.b64encode(bytes(entry[1])).decode()) for entry in inline]
    if not found:
        raise UnitCredentialsError(f"unit {unit} loads no credentials (LoadCredential=, "
                                   "LoadCredentialEncrypted=, SetCredentialEncrypted=)")
    return tuple(found)


def _name(value: Any, unit: str) -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise UnitCredentialsError(f"unit {unit}: a credential name the drill does not load: {value!r}")
    return value


def _pair(entry: Any, unit: str) -> tuple[str, str]:
    name, source = entry
    if not isinstance(source, str) or not _SOURCE.fullmatch(source) or ".." in source.split("/"):
        raise UnitCredentialsError(f"unit {unit}: credential {name}: a source the drill does not "
                                   f"read: {source!r}")
    return _name(name, unit), source


def unit_credentials(remote: Remote, unit: str) -> tuple[UnitCredential, ...]:
    """``unit``'s credentials on ``remote``'s host, as systemd parsed the unit (read once a run)."""
    from backup_drills.core.transport import DrillCouldNotRun, script

    key = (remote.name, unit)
    if key not in _READ:
        read = remote.run(script("unit-credentials-read", unit), timeout=30)
        if not read.ok:
            raise DrillCouldNotRun(f"host {remote.name}: cannot read the credentials of unit {unit} "
                                   f"(exit {read.exit_status}: {read.tail(2)})")
        try:
            _READ[key] = parse_properties(read.text.splitlines(), unit)
        except UnitCredentialsError as exc:
            raise DrillCouldNotRun(f"host {remote.name}: {exc}") from None
    return _READ[key]


def loaded_names(remote: Remote, unit: str) -> tuple[str, ...]:
    """The names of ``unit``'s credentials on ``remote``'s host, as this run already read them
    (nothing read here: empty when they were not), for a message to name them."""
    return tuple(credential.name for credential in _READ.get((remote.name, unit), ()))


def under_unit_credentials(unit: str, credentials: tuple[UnitCredential, ...], command: str) -> str:
    """``command`` (a shell script) run with ``unit``'s credentials in ``$CREDENTIALS_DIRECTORY``;
    every value a positional parameter of ``unit-credentials.sh``."""
    from backup_drills.core.transport import script

    words = [word for credential in credentials for word in credential]
    return script("unit-credentials", unit, *words, "--", "sh", "-c", command)


def forget_units() -> None:
    """A new run reads the units again."""
    _READ.clear()
