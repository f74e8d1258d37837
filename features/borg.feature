@borg @severity:blocker @control:ISO27001-A.8.13 @runbook:borg-archives
Feature: Borg archives are sound, fresh, kept as promised and restore byte-identical
  Runbook: "Borg archives": a local archive of the working set beside the cloud snapshots,
  checked with borg check, pruned to 7 daily, 4 weekly and 12 monthly archives.

  Scenario: borg check passes
    Given the job's host answers
    Then borg check passes

  Scenario: The newest borg archive is younger than the RPO
    Given the job's host answers
    Then the newest borg archive is younger than the RPO

  @retention
  Scenario: The borg archives are kept as borg prune's rules promise
    Given the job's host answers
    Then the borg archives keep what the retention policy promises, by borg prune's rules

  @slow
  Scenario: The newest borg archive restores byte-identical within the RTO
    Given the job's host answers
    When I extract the newest borg archive into scratch
    Then the restored tree is byte-identical to the source
    And the restore finished within the job's RTO

  @restore_rotation
  Scenario: The slice of the restore rotation due now extracts byte-identical
    Given the job's host answers
    When I restore the slice of the job's restore rotation due now and a random sample into scratch
    Then the slice and the sample are byte-identical to the source

  @restore_rotation
  Scenario: Every file of the borg archives was extracted within the rotation
    Given the job's host answers
    Then every file was restored within the job's restore rotation
