@clock @severity:critical @control:SOC2-A1.2 @runbook:host-clocks
Feature: Hosts keep the runner's time
  Every age the drill judges (markers, snapshots, metrics, dumps) is counted on the host's clock:
  a host whose clock is off makes every one of them wrong, so its skew is measured at drill start
  and recorded in the evidence. Times the estate reports from ahead of the host's clock are
  named by the scenarios that read them.

  Scenario: The job's host clock agrees with the runner's
    Given the job's host answers
    Then the host's clock is within the allowed skew of the runner's
