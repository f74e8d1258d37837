@markers @marker @severity:critical @control:SOC2-A1.2
Feature: Status markers report a fresh success
  Runbook: "cat /space/_ops/data-estate/markers/b2_mirror.json | jq ." and "Check if any recent
  failures: last_failure.json". Markers follow the schemas of the runbook's appendix.

  @runbook:quick-status-check
  Scenario: The job's status marker reports a success younger than the RPO
    Given the job's host answers
    When I read the job's status marker
    Then the marker parses in the runbook's schema
    And the marker reports success
    And the marker is younger than the job's RPO

  @runbook:last-failure-check
  Scenario: No failure is newer than the job's last success
    Given the job's host answers
    When I read the job's status marker
    Then no failure marker is newer than the last success
