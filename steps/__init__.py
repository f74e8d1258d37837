"""Thin step modules by domain: parse the sentence, call ``drills``, assert with a message that
names host, job and path."""

STEP_MODULES = (
    "backup_drills.steps.common",
    "backup_drills.steps.schedules",
    "backup_drills.steps.markers",
    "backup_drills.steps.repository",
    "backup_drills.steps.restore",
    "backup_drills.steps.exposure",
    "backup_drills.steps.databases",
    "backup_drills.steps.monitoring",
    "backup_drills.steps.archives",
    "backup_drills.steps.borg",
    "backup_drills.steps.bucket",
)
