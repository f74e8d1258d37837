"""The lab: a small containerized estate after the operators' runbooks, drilled by default."""
