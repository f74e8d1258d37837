@schedules @timer @severity:normal @control:SOC2-A1.2
Feature: Backup timers fire on the schedule the runbook states
  Runbook: "systemctl list-timers 'space-mirror*' 'flux-backup*' 'restic-check*' --all".
  Every job is started by a systemd timer; each scenario runs once per job with a schedule.

  @runbook:timer-status
  Scenario: The job's timer is armed on its declared schedule
    Given the job's host answers
    Then the job's timer is enabled and active
    And the job's next run is scheduled
    And the timer's calendar matches the job's declared schedule

  @runbook:recent-run-status
  Scenario: The job's last run succeeded
    Given the job's host answers
    Then the job's last run succeeded
