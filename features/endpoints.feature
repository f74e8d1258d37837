@endpoints @severity:normal @runbook:endpoints @control:SOC2-A1.2
Feature: The backup store's endpoints answer as the runbook states
  Runbook (Kernow "unified backup"): the S3 API answers 403 without credentials, the web UI
  answers 200. Asked from the job's host, the way its backups reach the store.

  Scenario: Every endpoint answers with its expected status
    Given the job's host answers
    Then every endpoint of the job answers with its expected status, without credentials
