@database @severity:blocker @control:ISO27001-A.8.13
Feature: Database dumps restore into scratch servers as the source was at dump time
  Runbooks: Cartae "PostgreSQL Only Restore" and "Redis Only Restore"; 254Carbon's post-restore
  smoke queries; PHC's Nextcloud dumps. The dump comes back from the job's latest snapshot (or
  its mirror, for a dump inside a mirrored source) and is loaded into a
  throwaway server in scratch on the job's host, never into the live database. The backup wrote
  a manifest of the data (row counts and checksums, key count and digest) beside the dump.

  @postgres @db_manifest @runbook:postgresql-only-restore
  Scenario: The latest pg_dump restores into a scratch PostgreSQL as the source was at dump time
    Given the job's host answers
    When I restore the latest database dump into a scratch PostgreSQL
    Then every table's row count and checksum match the source at dump time
    And the smoke queries pass and the expected tables are present
    And the restore finished within the job's RTO

  @writes @postgres @db_canary @runbook:postgresql-only-restore
  Scenario: A canary row written before an on-demand backup comes back from its dump
    Given the job's host answers
    When I write a canary row to the source database and run the job's backup on demand
    Then the canary row is in the restored database

  @redis @db_manifest @runbook:redis-only-restore
  Scenario: The latest Redis RDB loads into a scratch redis-server as the source was at dump time
    Given the job's host answers
    When I load the latest Redis RDB into a scratch redis-server
    Then its key count and dataset digest match the source at dump time
    And the restore finished within the job's RTO
