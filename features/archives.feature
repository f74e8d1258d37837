@archives @gpg_tar @severity:blocker @control:ISO27001-A.8.13
Feature: Encrypted tarball backups are fresh, restorable, encrypted where promised, and kept
  Runbook (MiracleMax): daily GPG-encrypted tarballs per component ("n8n always encrypted"), 30
  days kept locally, copied to network storage kept 90 days; "pai-miraclemax-restore --latest
  --component <name>", the BackupStale and BackupSizeAnomaly alerts. Archives are decrypted and
  unpacked only into scratch on the job's host.

  @runbook:automated-daily-backups
  Scenario: The newest archive of every component is younger than the RPO
    Given the job's host answers
    Then the newest archive of every component is younger than the RPO

  @runbook:selective-component-restore
  Scenario: The newest archive of every component decrypts with the recovery key and matches its source
    Given the job's host answers
    When I decrypt and unpack the newest archive of every component into scratch
    Then every unpacked component is byte-identical to its source
    And the restore finished within the job's RTO

  @runbook:what-gets-encrypted
  Scenario: Components that must be encrypted are never stored in clear
    Given the job's host answers
    Then no archive of a component that requires encryption is stored in clear

  @runbook:three-tier-protection-strategy @archive_tiers
  Scenario: Every tier holds the newest backup set
    Given the job's host answers
    Then every tier holds the newest backup set and nothing older than its window

  @runbook:prometheus-alerts
  Scenario: The newest archives are not anomalously small
    Given the job's host answers
    Then no component's newest archive is anomalously small against its history

  @runbook:retention
  Scenario: The backup sets are kept as long as promised, and no longer
    Given the job's host answers
    Then every day of the retention window has a backup set, and nothing older remains
