@restore_tests @restore_results @severity:critical @control:ISO27001-A.8.13
Feature: The automated restore test passes every week
  Runbook: "Restore Test | B2 | Temp | Weekly Sat 7:00 AM | Automated drill", and when it fails:
  "ls -la /space/_ops/backups/restore-tests/; cat /space/_ops/backups/restore-tests/*.json | jq .".

  @runbook:restore-test-failed
  Scenario: The newest automated restore test passed every test and is younger than the job's RPO
    Given the job's host answers
    When I read the job's newest restore-test result
    Then the result parses in the runbook's schema
    And every restore test of the result passed
    And the result is younger than the job's RPO
