"""The inventory: its schema (hosts, jobs, what each kind needs), loading with errors that
name file, key and expectation, and hosts read from Ansible."""
