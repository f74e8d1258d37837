"""Steps for archives.feature: dated sets of per-component tarballs, some GPG-encrypted."""

from __future__ import annotations

from pytest_bdd import then, when

from backup_drills.adapters.archives import ArchiveRestore, restore_newest
from backup_drills.core.transport import Remote
from backup_drills.inventory.schema import Job
from backup_drills.outcomes import require
from backup_drills.steps.plugin.needs import needs
from backup_drills.verdicts.archives import (
    archives_restore_identical,
    components_fresh,
    never_in_clear,
    sets_conform,
    size_not_anomalous,
    tiers_hold_newest,
)


@then("the newest archive of every component is younger than the RPO")
@needs("gpg_tar")
def _(remote: Remote, job: Job) -> None:
    """Per component of `archives.components`, the newest set holding its archive is no older
    than the `rpo` (sets are dated by their name, `archives.set_format`)."""
    require(components_fresh(remote, job))


@when("I decrypt and unpack the newest archive of every component into scratch",
      target_fixture="restored")
@needs("gpg_tar")
def _(remote: Remote, job: Job) -> ArchiveRestore:
    """`gpg --decrypt` (keys of `archives.gnupghome`) and `tar -x` into scratch on the host."""
    return restore_newest(remote, job)


@then("every unpacked component is byte-identical to its source")
@needs("gpg_tar")
def _(restored: ArchiveRestore, job: Job) -> None:
    """Files unchanged since the set was made match byte for byte; later changes are reported."""
    require(archives_restore_identical(restored))


@then("no archive of a component that requires encryption is stored in clear")
@needs("gpg_tar")
def _(remote: Remote, job: Job) -> None:
    """Every archive of a `required` component, in the root and every tier, is OpenPGP
    encrypted data (read from its first byte, never decrypted)."""
    require(never_in_clear(remote, job))


@then("every tier holds the newest backup set and nothing older than its window")
@needs("gpg_tar", "archive_tiers")
def _(remote: Remote, job: Job) -> None:
    """Each of `archives.tiers` has the newest set with the same files and sizes, and no set
    older than its `keep_days`."""
    require(tiers_hold_newest(remote, job))


@then("no component's newest archive is anomalously small against its history")
@needs("gpg_tar")
def _(remote: Remote, job: Job) -> None:
    """Newest archive >= `archives.anomaly_ratio` (0.5) x the median of its earlier archives."""
    require(size_not_anomalous(remote, job))


@then("every day of the retention window has a backup set, and nothing older remains")
@needs("gpg_tar")
def _(remote: Remote, job: Job) -> None:
    """Under `archives.root`: a set for each of the last `archives.keep_days` days (since history
    began), none older than the window plus a day."""
    require(sets_conform(remote, job))
