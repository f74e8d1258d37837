"""Restores into scratch: snapshots and mirrors (trees), manifests compared byte for byte,
PostgreSQL, Redis and ClickHouse scratch servers."""
