@database @dump_tiers @severity:blocker @control:ISO27001-A.8.13
Feature: Database dumps kept by tier in an object store restore and are kept as promised
  Runbook (254Carbon): "pg_dump CronJob, daily 03:00" and "clickhouse-backup CronJob, daily
  02:00", each "7 daily / 4 weekly / 3 monthly" in "MinIO backups/<postgres|clickhouse>/<tier>/";
  "Ensure bucket versioning enabled"; post-restore smoke queries; RTO <= 60 min. Dumps are listed
  and fetched with rclone on the job's host and restored into a throwaway PostgreSQL or
  ClickHouse server in scratch there.

  @postgres @runbook:postgresql-restore
  Scenario: The newest dump of every tier restores and passes the smoke queries
    Given the job's host answers
    When I restore the newest dump of every tier into a scratch PostgreSQL
    Then every tier's dump holds data, passes the smoke queries and has the expected tables
    And the restore finished within the job's RTO

  @clickhouse @runbook:clickhouse-restore
  Scenario: The newest ClickHouse backup of every tier restores as it was at backup time
    Given the job's host answers
    When I restore the newest ClickHouse backup of every tier into a scratch ClickHouse server
    Then every tier's backup matches its manifest, passes the smoke queries and has the expected tables
    And the restore finished within the job's RTO

  @runbook:backup-inventory
  Scenario: Every tier keeps the dumps it promises
    Given the job's host answers
    Then every tier holds a dump for each day, week or month it promises, and no more

  @runbook:daily-weekly-checks
  Scenario: The newest dump is younger than the RPO
    Given the job's host answers
    Then the newest dump is younger than the RPO
