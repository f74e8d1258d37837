@credentials @severity:critical @runbook:credentials @control:ISO27001-A.8.13
Feature: Backup credentials are readable by their owner alone
  Runbook: "the storage credentials file (/etc/miket/storage-credentials.env) is mode 0600,
  owned by root". So is the repository's password file, where the job keeps its password in
  one. The drill reads the files' modes and owners, never their content.

  Scenario: The credentials file is private to its owner
    Given the job's host answers
    Then the host's credentials file is readable by its owner alone
