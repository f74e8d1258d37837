"""Verdicts, one module per feature family (``steps/<family>.py`` asserts them)."""
