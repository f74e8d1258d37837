"""The HTML report read the way an auditor reads it, in Debian's headless Chromium: a report of the
session's whole drill (flux-backup's restore broken), a report of the healed job after it with a
shared history, a report of a drill whose host does not answer; then the evidence summary page of
the session's whole drill."""

import re

import pytest
import yaml

from backup_drills.evidence.report import build_report
from tests.faults.conftest import ROOT, Drill
from tests.faults.report_page import ReportPage, chromium

pytestmark = [pytest.mark.lab, pytest.mark.alone]

RESTORE = "The latest snapshot restores byte-identical within the RTO"
MIRROR_CHECK = "rclone check --one-way finds no differences"


def scenario_names() -> set[str]:
    text = "".join(p.read_text() for p in (ROOT / "features").glob("*.feature"))
    return set(re.findall(r"^\s*Scenario(?: Outline)?:\s*(.+?)\s*$", text, re.MULTILINE))


def test_the_report_shows_scenarios_evidence_categories_and_history_in_chromium(
        drill, tmp_path, one_failing_run):
    history = tmp_path / "history.jsonl"
    # the session's whole drill: flux-backup's RTO at 1 s, every other scenario verified
    first = build_report(one_failing_run.tmp / "allure", tmp_path / "first", history)
    healed = Drill(tmp_path / "healed", drill.warm)  # flux-backup alone, at its own RTO
    again = healed.run_features("-q", "-k", "flux-backup")
    assert again.returncode == 0, again.stdout[-3000:]
    second = build_report(healed.tmp / "allure", tmp_path / "second", history)
    refusing = drill.inventory_with(host="akira", transport="ssh://127.0.0.1:1")  # its SSH port
    refused = drill.run_features("-q", "-k", "akira", f"--inventory={refusing}")
    assert refused.returncode == 2, refused.stdout[-3000:]  # could not run: nothing verified
    unreachable = build_report(drill.tmp / "allure", tmp_path / "unreachable", tmp_path / "other.jsonl")

    with chromium() as browser:
        page = ReportPage(browser, first)
        page.expand_all()
        assert not scenario_names() - set(page.text.splitlines()), page.text
        page.show_more()  # seven hosts' tool versions make a long environment list
        for shown in ("suite.version", "inventory.name", "run.start", "motoko.restic"):
            assert shown in page.text, f"environment entry {shown} is not shown"

        page.open_scenario(RESTORE, "flux-backup")
        assert "Category: Backup is broken (not compliant)" in page.text, page.text
        assert "host motoko, job flux-backup: restore of /flux took" in page.text
        page.open_tab("Attachments")
        page.click(page.by_text("evidence"))  # the last one: the verdict against the RTO
        page.click(page.by_text("restore duration and data age across runs"))
        page.wait.until(lambda _: '"rto_seconds": 1.0' in page.text)
        assert '"bytes_verified":' in page.text
        page.wait.until(lambda _: page.loaded_images())
        assert all(width > 0 for width in page.loaded_images())

        page = ReportPage(browser, unreachable)
        page.open_scenario(MIRROR_CHECK)
        assert "Category: Drill could not run" in page.text, page.text
        assert "akira" in page.text
        assert page.network_requests() == []

        page = ReportPage(browser, second)
        page.open_scenario(RESTORE, "flux-backup")
        assert "Passed" in page.text
        page.open_tab("History")
        # the first run comes back from the history file, failed
        page.wait.until(lambda b: b.find_elements("css selector", "[data-testid=tree-leaf-status-failed]"))

        summary = sorted((one_failing_run.tmp / "evidence").glob("*/summary.html"))[-1]
        browser.get(summary.as_uri())
        text = browser.find_element("tag name", "body").text
        assert "flux-backup@motoko not_compliant" in text, text
        assert "space-mirror@akira verified" in text, text
        widths = [img.get_property("naturalWidth") for img in browser.find_elements("tag name", "img")]
        jobs = yaml.safe_load((ROOT / "inventory/lab.yml").read_text())["jobs"]
        assert len(widths) == len(jobs), widths  # one trend per job: each measures a time or an age
        assert all(w > 0 for w in widths), widths
