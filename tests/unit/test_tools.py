from backup_drills.core.tools import tool_versions


def test_versions_of_the_tools_this_host_has(local):
    versions = tool_versions(local)
    assert versions["restic"].startswith("restic 0.")
    assert versions["rclone"].startswith("rclone v1.")
