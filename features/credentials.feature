@credentials @severity:critical @runbook:credentials @control:ISO27001-A.8.13
Feature: Backup credentials are readable by their owner alone
  Runbook: "the storage credentials file (/etc/miket/storage-credentials.env) is mode 0600,
  owned by root". The drill reads the file's mode and owner, never its content.

  Scenario: The credentials file is private to its owner
    Given the job's host answers
    Then the host's credentials file is readable by its owner alone
