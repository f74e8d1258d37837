@bucket_controls @severity:critical @control:ISO27001-A.8.13 @control:SOC2-CC6.1 @runbook:bucket-controls
Feature: The bucket holding the backups resists a stolen credential, keeps what the runbook keeps, and is private
  Read through the S3 API from the runner, with the object store's own read-only auditor
  identity: never the job's backup credentials, never from the job's host.

  Scenario: The backup bucket keeps object versions
    Given the job's bucket is audited from the runner
    Then the job's bucket keeps object versions

  Scenario: New backups are locked at least as long as declared
    Given the job's bucket is audited from the runner
    Then the job's bucket locks new objects by default for at least the declared period

  Scenario: No lifecycle rule expires backups sooner than the runbook keeps them
    Given the job's bucket is audited from the runner
    Then no lifecycle rule of the job's bucket expires its backups sooner than the job keeps them

  Scenario: Nothing in the backup bucket is public
    Given the job's bucket is audited from the runner
    Then the job's bucket grants nothing to anonymous users, and an anonymous request is refused

  Scenario: New backups are encrypted at rest by default
    Given the job's bucket is audited from the runner
    Then the job's bucket encrypts new objects by default
