@mirror @rclone_mirror
Feature: The mirror gives back what the source of record holds
  Runbook: "Restore: B2 Mirror (Single File)", "Restore Directory", and
  "rclone check :b2:miket-space-mirror /space --one-way".

  Scenario: One file restores from the mirror byte-identical
    Given the job's host answers
    When I restore the job's sample file from the mirror into scratch
    Then the restored file is byte-identical to the source

  Scenario: One directory restores from the mirror byte-identical
    Given the job's host answers
    When I restore the job's sample directory from the mirror into scratch
    Then the restored tree is byte-identical to the source

  Scenario: rclone check --one-way finds no differences
    Given the job's host answers
    When I check the mirror one way against the source
    Then the mirror has no differences
