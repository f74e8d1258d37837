@repository @restic @severity:critical @runbook:restic-check-failed @control:SOC2-A1.2
Feature: The restic repository is sound, fresh and unlocked
  Runbook: "Restic Check: daily integrity verification"; "restic snapshots --host motoko".

  Scenario: restic check passes
    Given the job's host answers
    Then restic check passes

  Scenario: A read-data subset check passes
    Given the job's host answers
    Then a restic check of the job's read-data subset passes

  @read_rotation
  Scenario: Every pack of the repository was read within the rotation
    Given the job's host answers
    Then every pack of the repository was read within the job's rotation

  Scenario: The latest snapshot is younger than the RPO
    Given the job's host answers
    Then the latest snapshot of the job's host and path is younger than the RPO

  Scenario: The repository has no stale locks
    Given the job's host answers
    Then the repository has no stale locks

  @runbook:restore-restic-snapshots-full
  Scenario: No file still in the source vanished from the newest snapshot
    Given the job's host answers
    Then no file still in the source vanished between the two newest snapshots

  Scenario: The newest snapshot did not suddenly shrink
    Given the job's host answers
    Then the newest snapshot is not much smaller than the ones before it

  Scenario: The latest snapshot lists the job's sample file
    Given the job's host answers
    Then restic find lists the job's sample file in the latest snapshot
