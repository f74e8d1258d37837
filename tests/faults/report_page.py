"""The generated HTML report as a reader sees it: Debian's headless Chromium, driven by Selenium.

    with chromium() as browser:
        page = ReportPage(browser, index)
        page.open_scenario("The latest snapshot restores byte-identical within the RTO")
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# nothing the page asks for may leave the machine: every host name resolves to nowhere
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--window-size=1400,1000", "--host-resolver-rules=MAP * ~NOTFOUND")
# click open every collapsed group of the tree (one round trip), saying how many it opened
EXPAND = ("const collapsed = [...document.querySelectorAll('[data-testid=tree-section]')]"
          ".filter(s => s.parentElement.children.length === 1);"
          "collapsed.forEach(s => s.querySelector('[data-testid=tree-section-title]').click());"
          "return collapsed.length")


@contextmanager
def chromium() -> Iterator[webdriver.Chrome]:
    """A headless Chromium with a throwaway profile, quit whatever happens."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    with tempfile.TemporaryDirectory(prefix="report-browser-") as profile:
        for flag in (*FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        browser.set_page_load_timeout(60)
        try:
            yield browser
        finally:
            browser.quit()


class ReportPage:
    """One report file opened in the browser."""

    def __init__(self, browser: webdriver.Chrome, path: Path) -> None:
        self.browser = browser
        self.wait = WebDriverWait(browser, 30)
        browser.get(path.as_uri())
        self.wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "[data-testid=tree-section]"))

    @property
    def text(self) -> str:
        """The page's text as rendered (the browser's own ``innerText``: WebDriver's element
        text takes seconds on a report of a whole drill)."""
        return str(self.browser.execute_script("return document.body.innerText"))

    def click(self, element: WebElement) -> None:
        # a script click: the report's sticky header would intercept a pointer click
        self.browser.execute_script("arguments[0].click()", element)

    def by_text(self, text: str) -> WebElement:
        """The last element whose own text is exactly ``text``, waiting for it to render."""
        xpath = f"//*[normalize-space(text())={text!r}]"
        return self.wait.until(lambda b: b.find_elements(By.XPATH, xpath))[-1]  # type: ignore[no-any-return]

    def expand_all(self) -> None:
        """Open every group of the tree (runbook, feature, job) so every scenario shows."""
        for _ in range(10):
            if not self.browser.execute_script(EXPAND):
                return
            time.sleep(0.3)
        raise AssertionError("the report's tree did not open within 10 rounds")

    def show_more(self) -> None:
        """Click every "Show more" the page offers (e.g. a long environment list)."""
        for button in self.browser.find_elements(By.XPATH, "//*[normalize-space(text())='Show more']"):
            self.click(button)
        time.sleep(0.3)

    def open_scenario(self, name: str, job: str | None = None) -> None:
        """Open a scenario's result; ``job`` picks it in that job's group of the tree (a
        scenario runs once per matching job)."""
        self.expand_all()
        if job is None:
            self.click(self.by_text(name))
        else:
            xpath = (f"//*[@data-testid='tree-section'][.//*[@data-testid='tree-section-title']"
                     f"[contains(normalize-space(.), {job!r})]]/..//*[normalize-space(text())={name!r}]")
            self.click(self.wait.until(lambda b: b.find_elements(By.XPATH, xpath))[0])
        self.wait.until(lambda b: "Overview" in self.text and "Attachments" in self.text)

    def open_tab(self, name: str) -> None:
        self.click(self.by_text(name))
        time.sleep(0.5)

    def loaded_images(self) -> list[int]:
        """Natural widths of the page's images (0: the image did not decode)."""
        return [img.get_property("naturalWidth") for img in self.browser.find_elements(By.TAG_NAME, "img")]

    def network_requests(self) -> list[str]:
        """Every resource the page asked for over the network (file, data and blob URLs are local)."""
        names = self.browser.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)")
        return [n for n in names if not n.startswith(("file:", "data:", "blob:"))]
