@mirror @rclone_mirror @severity:blocker @control:ISO27001-A.8.13
Feature: The mirror gives back what the source of record holds
  Runbook: "Restore: B2 Mirror (Single File)", "Restore Directory", and
  "rclone check :b2:miket-space-mirror /space --one-way".

  @runbook:restore-b2-mirror-single-file
  Scenario: One file restores from the mirror byte-identical
    Given the job's host answers
    When I restore the job's sample file from the mirror into scratch
    Then the restored file is byte-identical to the source

  @runbook:restore-b2-mirror-single-file
  Scenario: One directory restores from the mirror byte-identical
    Given the job's host answers
    When I restore the job's sample directory from the mirror into scratch
    Then the restored tree is byte-identical to the source

  @runbook:restore-b2-mirror-full-disaster-recovery @slow
  Scenario: The whole mirror restores to an alternate root byte-identical, within the RTO
    Given the job's host answers
    When I restore the whole mirror to an alternate root in scratch
    Then the restored tree is byte-identical to the source
    And the restore finished within the job's RTO

  @runbook:restore-b2-mirror-full-disaster-recovery
  Scenario: rclone check --one-way finds no differences
    Given the job's host answers
    When I check the mirror one way against the source
    Then the mirror has no differences
