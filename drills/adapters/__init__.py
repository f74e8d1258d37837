"""One adapter per tool or artefact of the estate: restic, rclone, systemd, cron, metrics,
status markers, dumps in an object store, tarball sets, and the registered readings of a
job's state."""
