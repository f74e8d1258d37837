"""The core every layer uses: remote execution with bounds (transport), durations, tool
versions, hosts' clocks, the up-front backend probe, the as-found store, and pure rules
(restic's filter patterns, retention, read rotation)."""
