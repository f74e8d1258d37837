"""Thin step modules by domain: parse the sentence, call ``drills``, assert with a message that
names host, job and path."""

STEP_MODULES = (
    "steps.common",
    "steps.schedules",
    "steps.markers",
    "steps.repository",
    "steps.restore",
    "steps.exposure",
    "steps.databases",
    "steps.monitoring",
    "steps.archives",
    "steps.borg",
    "steps.bucket",
)
