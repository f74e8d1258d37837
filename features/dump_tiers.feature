@database @dump_tiers @severity:blocker @control:ISO27001-A.8.13
Feature: Database dumps kept by tier in an object store restore and are kept as promised
  Runbook (254Carbon): "pg_dump CronJob, daily 03:00, 7 daily / 4 weekly / 3 monthly, MinIO
  backups/postgres/<tier>/"; "Ensure bucket versioning enabled"; post-restore smoke queries;
  RTO <= 60 min. Dumps are listed and fetched with rclone on the job's host and restored into a
  throwaway PostgreSQL in scratch there.

  @runbook:postgresql-restore
  Scenario: The newest dump of every tier restores and passes the smoke queries
    Given the job's host answers
    When I restore the newest dump of every tier into a scratch PostgreSQL
    Then every tier's dump holds data, passes the smoke queries and has the expected tables
    And the restore finished within the job's RTO

  @runbook:backup-inventory
  Scenario: Every tier keeps the dumps it promises
    Given the job's host answers
    Then every tier holds a dump for each day, week or month it promises, and no more

  @runbook:daily-weekly-checks
  Scenario: The newest dump is younger than the RPO
    Given the job's host answers
    Then the newest dump is younger than the RPO

  @runbook:minio-bucket-snapshot
  Scenario: The dump bucket keeps object versions
    Given the job's host answers
    Then the bucket holding the dumps keeps object versions
