@schedules @cron @severity:normal @control:SOC2-A1.2
Feature: Backups started by cron run on the schedule the runbook states
  Runbook (Cartae): "Backups run automatically via cron: daily backup - 02:00 UTC". Each
  scenario runs once per job started by a cron entry.

  @runbook:automated-backups
  Scenario: The job's cron entry is installed on its declared schedule
    Given the job's host answers
    Then the cron daemon is running
    And the job's cron entry runs its command on the declared schedule
