@monitoring @metrics @severity:critical @control:SOC2-A1.2
Feature: Backup metrics are present, report success and are fresh
  Runbooks: Cartae "Monitoring" (metrics pushed to a Prometheus Pushgateway), MiracleMax's
  backup metrics and stale-backup alerts. The metrics are read from the job's host, as the
  monitoring would scrape them.

  @runbook:monitoring
  Scenario: The job's metrics report a successful backup younger than its RPO
    Given the job's host answers
    Then the job's metrics report its last backup succeeded
    And the job's metrics show a backup younger than its RPO

  @runbook:prometheus-alerts @metrics_duration
  Scenario: The job's last backup took no longer than its duration alert allows
    Given the job's host answers
    Then the job's metrics show its last backup took no longer than its maximum duration
