@restore @restic @severity:blocker @control:ISO27001-A.8.13
Feature: Restic snapshots restore byte-identical within the RTO
  Runbook: "Restore: Restic Snapshots (Full)" into a different location first, then
  "restic diff latest:/flux /flux". The drill restores into scratch on the job's host, never
  over the source, and compares hashes computed on the host.

  @slow @runbook:restore-restic-snapshots-full
  Scenario: The latest snapshot restores byte-identical within the RTO
    Given the job's host answers
    When I restore the latest snapshot into scratch
    Then the restored tree is byte-identical to the source
    And the restore finished within the job's RTO

  @runbook:restore-restic-snapshots-selective
  Scenario: A single file restores exactly
    Given the job's host answers
    When I restore the job's sample file from the latest snapshot
    Then the restored file is byte-identical to the source

  @writes @runbook:restore-restic-snapshots-selective
  Scenario: A canary planted before an on-demand backup comes back byte-exact
    Given the job's host answers
    When I plant a canary and run the job's backup on demand
    Then the canary comes back byte-exact from the new snapshot

  @restore_rotation @runbook:restore-restic-snapshots-selective
  Scenario: The slice of the restore rotation due now restores byte-identical
    Given the job's host answers
    When I restore the slice of the job's restore rotation due now and a random sample into scratch
    Then the slice and the sample are byte-identical to the source

  @restore_rotation @runbook:restore-restic-snapshots-selective
  Scenario: Every file was restored within the rotation
    Given the job's host answers
    Then every file was restored within the job's restore rotation

  @runbook:restore-restic-snapshots-specific
  Scenario: The oldest kept snapshot restores by its ID
    Given the job's host answers
    When I restore the job's sample directory from the oldest snapshot by its ID, verified by restic
    Then every file the snapshot lists came back with its size
