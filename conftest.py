"""Root conftest. The suite's plugins and step modules come from the installed package's pytest
entry point (``backup_drills.steps.plugin.entry``), so a checkout and a ``pip install`` drill alike."""
