"""Root conftest: the suite's plugin and its step modules (see DESIGN.md, layout)."""

pytest_plugins = [
    "steps.plugin",
    "steps.reporting",
    "steps.parallel",
    "steps.common",
    "steps.schedules",
    "steps.markers",
    "steps.repository",
    "steps.restore",
]
