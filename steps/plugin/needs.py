"""Which jobs a scenario applies to: those that have what its steps need. A step declares its
needs with ``@needs`` (a selector name below), so a user's own scenario ``Then restic check
passes`` runs for restic jobs only, with no tag. Tags of the same names still narrow a scenario.

    >>> @then("restic check passes")
    ... @needs("restic")
    ... def restic_check_passes(job, remote): ...                        # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pytest_bdd.parser import ScenarioTemplate
from pytest_bdd.steps import step_function_context_registry

from backup_drills.inventory.kinds import KINDS

F = TypeVar("F", bound=Callable[..., Any])

# selector -> ("kind", job kind) or ("needs", an attribute the job, or "host." its host, declares):
# one per kind of the registry (its tag), then one per optional part of a job
SELECTORS: dict[str, tuple[str, str]] = {
    **{kind.tag: ("kind", kind.name) for kind in KINDS.values()},
    "timer": ("needs", "schedule"), "cron": ("needs", "cron"), "marker": ("needs", "marker"),
    "retention": ("needs", "retention"), "endpoints": ("needs", "endpoints"),
    "credentials": ("needs", "credentials_env|password_file|host.credentials_env"),
    "metrics": ("needs", "metrics"),
    "metrics_duration": ("needs", "metrics.max_duration"),
    "db_canary": ("needs", "dump.canary_table"), "dump_tiers": ("needs", "dump.remote"),
    "db_manifest": ("needs", "dump.manifest"), "restore_results": ("needs", "results"),
    "archive_tiers": ("needs", "archives.tiers"), "read_rotation": ("needs", "read_data_rotation"),
    "restore_rotation": ("needs", "restore_rotation"),
    "samples": ("needs", "samples"), "rto": ("needs", "rto"),
    "bucket": ("needs", "bucket"), "bucket_lock": ("needs", "bucket.object_lock"),
    "bucket_encryption": ("needs", "bucket.encryption"),
}

# markers that are not selectors: feature families, ordering, report labels
MARKERS: dict[str, str] = {
    "schedules": "timers and their schedules", "clock": "hosts' clocks against the runner's",
    "markers": "JSON status markers", "repository": "restic repository integrity and freshness",
    "restore": "restores into scratch, compared byte for byte",
    "mirror": "restores from the rclone mirror bucket",
    "database": "database dumps restored into scratch servers",
    "monitoring": "backup metrics as the monitoring scrapes them",
    "archives": "tarball backups (dated sets of per-component archives)",
    "restore_tests": "the estate's own automated restore tests and their results",
    "slow": "drills that restore a whole snapshot",
    "writes": "scenarios that write to the estate (a canary, an on-demand backup): run only for "
              "jobs that declare writes: allowed (or with --allow-writes), after every other scenario",
    "runbook": "the runbook section a scenario drills (tag @runbook:<anchor>)",
    "severity": "Allure severity of a scenario (tag @severity:<level>)",
    "control": "a compliance control a scenario evidences (tag @control:<id>)",
    "bucket_controls": "the bucket's own controls, read through the S3 API from the runner",
}

_NEEDS: dict[Callable[..., Any], tuple[str, ...]] = {}


def needs(*selectors: str) -> Callable[[F], F]:
    """Declare what a step needs of a job (selector names), below its pytest-bdd decorator."""
    unknown = [name for name in selectors if name not in SELECTORS]
    if unknown:
        raise ValueError(f"@needs{unknown}: expected selectors among {sorted(SELECTORS)}")

    def mark(function: F) -> F:
        _NEEDS[function] = selectors
        return function

    return mark


def step_needs(function: Callable[..., Any]) -> tuple[str, ...]:
    """The selectors a step function declared with ``@needs`` (none: every job)."""
    return _NEEDS.get(function, ())


def selector_help(name: str) -> str:
    """``restic`` -> "scenarios drilled against every job of kind restic"."""
    how, value = SELECTORS[name]
    return (f"scenarios drilled against every job of kind {value} ({KINDS[value].description})"
            if how == "kind"
            else f"scenarios drilled against every job that declares {value}")


def steps_need(template: ScenarioTemplate) -> set[str]:
    """The selectors the steps of a scenario need (each step's matching definitions)."""
    contexts = list(step_function_context_registry.values())
    found: set[str] = set()
    for step in template.steps:
        for context in contexts:
            if context.type in (None, step.type) and context.parser.is_matching(step.name):
                found.update(_NEEDS.get(context.step_func, ()))
    return found
