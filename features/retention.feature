@retention @severity:critical @runbook:retention @control:ISO27001-A.8.13
Feature: Snapshots are kept as the retention policy promises
  Runbook: "we keep 7 daily, 4 weekly and 12 monthly snapshots". The drill reads the snapshot
  list and computes, independently of restic's own forget, what the policy keeps: every promised
  day, week and month where history exists holds a snapshot, and nothing outlives the policy.

  @restic
  Scenario: The snapshots keep what the retention policy promises
    Given the job's host answers
    Then the job's snapshots keep what its retention policy promises, and nothing more
