"""The review log in a real browser: Debian's headless Chromium driven by Selenium.

The browser and its driver are Debian's packages (/usr/bin/chromium, /usr/bin/chromedriver),
installed by scripts/ensure-chromium.sh from ./run-tests; nothing is downloaded. When they are
missing these tests fail and say how to install them: a browser test that silently skips is a
browser test that never runs.

One browser serves the whole module (starting Chromium is the slow part); each test starts from
a signed-out state. The app is served by waitress on a free loopback port, as `serve` does.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from web_support import HOSTILE_SUBJECT, PASSWORD, add_users, seed

CHROMIUM = os.environ.get("OUTREACH_MONITOR_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("OUTREACH_MONITOR_CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Loopback must not depend on whatever proxy the machine is configured with.
    "--no-proxy-server",
    "--window-size=1280,1000",
)


def _require_chromium() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (Path(p).is_file() and os.access(p, os.X_OK))]
    if missing:
        pytest.fail(
            f"browser tests need Debian's chromium and chromium-driver; missing: {', '.join(missing)}. "
            "Install them with `sudo apt-get install chromium chromium-driver` "
            "(./run-tests does it through scripts/ensure-chromium.sh when run as root).",
            pytrace=False,
        )


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(tmp_path_factory, downloads) -> Iterator:
    _require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    # The driver is reached on loopback too; keep any configured proxy out of it.
    saved = {k: os.environ.get(k) for k in ("NO_PROXY", "no_proxy")}
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    try:
        yield driver
    finally:
        driver.quit()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def site(web_app, web_engine, browser) -> Iterator[tuple[str, dict]]:
    """The app served on a free loopback port; yields (base URL, the seeded world)."""
    from waitress.server import create_server

    add_users(web_engine, rita="reviewer", vic="viewer")
    world = seed(web_engine)
    # Our own socket map: closing everything in it (the listener and the browser's keep-alive
    # connections) ends the server loop at once.
    sockets: dict = {}
    server = create_server(web_app, map=sockets, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.effective_port}"
    try:
        yield base, world
    finally:
        browser.delete_all_cookies()
        for dispatcher in list(sockets.values()):
            dispatcher.close()
        server.task_dispatcher.shutdown()
        thread.join(timeout=5)


def sign_in(browser, base: str, username: str, password: str = PASSWORD, *, here: bool = False) -> None:
    """Fill in the sign-in form (of the page shown when ``here``, else of /signin)."""
    from selenium.webdriver.common.by import By

    if not here:
        browser.get(f"{base}/signin")
    browser.find_element(By.ID, "username").send_keys(username)
    browser.find_element(By.ID, "password").send_keys(password)
    click(browser, browser.find_element(By.ID, "signin"))


def click(browser, element) -> None:
    """Click something that loads another page, and wait until it has (reading the old page,
    or a get() cancelling a POST in flight, would make the test flaky)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    page = browser.find_element(By.TAG_NAME, "html")
    element.click()

    def left(_driver) -> bool:  # type: ignore[no-untyped-def]
        try:
            page.is_enabled()
            return False
        except WebDriverException:
            # Stale, or Chromium's "node does not belong to the document" while it swaps pages.
            return True

    WebDriverWait(browser, 10).until(left)
    WebDriverWait(browser, 10).until(lambda d: d.execute_script("return document.readyState") == "complete")


def wait_for(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def subjects(browser) -> list[str]:
    from selenium.webdriver.common.by import By

    return [e.text for e in browser.find_elements(By.CSS_SELECTOR, "td.subject a")]


def test_sign_in_filter_open_triage_and_export(browser, site, downloads):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    base, world = site
    browser.get(f"{base}/log")
    assert "/signin" in browser.current_url  # signing in comes first
    sign_in(browser, base, "rita", PASSWORD, here=True)
    assert browser.find_element(By.ID, "account").text == "rita"
    assert browser.current_url.startswith(f"{base}/log")

    # Filter: one vendor, then free text on top.
    Select(browser.find_element(By.ID, "f-vendor")).select_by_visible_text("Dell")
    click(browser, browser.find_element(By.ID, "apply"))
    assert sorted(subjects(browser)) == [
        '=HYPERLINK("http://evil")',
        "Refresh your laptops directly with Dell",
    ]
    browser.find_element(By.ID, "f-q").send_keys("laptops")
    click(browser, browser.find_element(By.ID, "apply"))
    assert subjects(browser) == ["Refresh your laptops directly with Dell"]

    # Open it and triage it.
    click(browser, browser.find_element(By.LINK_TEXT, "Refresh your laptops directly with Dell"))
    assert browser.find_element(By.ID, "sender").text == "Sender 2 <ae@dell.com>"
    browser.find_element(By.ID, "status-resolved").click()
    Select(browser.find_element(By.ID, "outcome")).select_by_visible_text("Customer contacted")
    browser.find_element(By.ID, "note").send_keys("Called Olivia; she will ignore it")
    click(browser, browser.find_element(By.ID, "save"))
    assert browser.find_element(By.ID, "status").text == "Resolved · Customer contacted"
    history = browser.find_element(By.ID, "history").text
    assert "rita · New → Resolved (Customer contacted)" in history
    assert "Called Olivia; she will ignore it" in history

    # Back to the filtered log, and export it.
    click(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "Back to the log"))
    assert subjects(browser) == ["Refresh your laptops directly with Dell"]
    browser.find_element(By.ID, "export-csv").click()
    exported = wait_for(lambda: [p for p in downloads.glob("outreach-log-*.csv")])
    assert exported, "the CSV export did not download"
    text = wait_for(lambda: exported[0].read_text(encoding="utf-8-sig") if exported[0].stat().st_size else "")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["subject"], r["status"], r["outcome"]) for r in rows] == [
        ("Refresh your laptops directly with Dell", "Resolved", "Customer contacted")
    ]
    click(browser, browser.find_element(By.ID, "export-json"))
    body = json.loads(browser.find_element(By.TAG_NAME, "body").text)
    assert body["count"] == 1 and body["detections"][0]["outcome"] == "customer_contacted"


def test_a_hostile_subject_shows_as_text_and_runs_nothing(browser, site):
    from selenium.webdriver.common.by import By

    base, world = site
    sign_in(browser, base, "vic")
    browser.get(f"{base}/log?q=pwned")
    assert subjects(browser) == [HOSTILE_SUBJECT]
    browser.get(f"{base}/detections/{world['ids'][6]}")
    assert browser.find_element(By.ID, "subject").text == HOSTILE_SUBJECT
    assert browser.execute_script("return window.__pwned === undefined")
    assert browser.find_elements(By.CSS_SELECTOR, "img") == []
    assert browser.find_elements(By.CSS_SELECTOR, "main script") == []
    snippet = browser.find_element(By.ID, "snippet").text
    assert "<a href='javascript:alert(1)'>book a call</a>" in snippet
    # A viewer has no triage form.
    assert browser.find_elements(By.ID, "triage") == []


def test_false_positive_allow_lists_the_domain(browser, site):
    from selenium.webdriver.common.by import By

    base, world = site
    sign_in(browser, base, "rita")
    browser.get(f"{base}/detections/{world['ids'][5]}")
    browser.find_element(By.ID, "status-false_positive").click()
    browser.find_element(By.ID, "allow-domain").click()
    click(browser, browser.find_element(By.ID, "save"))
    assert (
        "cisco.com is now allow-listed for this customer"
        in browser.find_element(By.CSS_SELECTOR, ".flash").text
    )
    click(browser, browser.find_element(By.LINK_TEXT, "Allow-list"))
    rows = browser.find_element(By.ID, "allowlist").text
    assert "Fabrikam cisco.com rita" in rows


def test_lock_out_is_shown_and_sign_out_works(browser, site):
    from selenium.webdriver.common.by import By

    base, _ = site
    for attempt in range(5):
        sign_in(browser, base, "vic", f"wrong password {attempt}")
    message = browser.find_element(By.ID, "signin-error").text
    assert "Too many failed sign-ins" in message and "locked until" in message
    sign_in(browser, base, "rita")
    click(browser, browser.find_element(By.ID, "signout"))
    assert "You are signed out." in browser.find_element(By.CSS_SELECTOR, ".flash").text
    browser.get(f"{base}/log")
    assert "/signin" in browser.current_url


def test_the_overview_draws_its_chart(browser, site):
    from selenium.webdriver.common.by import By

    base, _ = site
    sign_in(browser, base, "vic")
    browser.get(f"{base}/?since=2025-02-10&until=2025-03-14")
    assert browser.find_element(By.ID, "total").text == "7"
    bars = browser.find_elements(By.CSS_SELECTOR, "svg#chart rect")
    assert len(bars) >= 4
    assert all(float(b.get_attribute("height")) > 0 for b in bars)
    legend = browser.find_element(By.CSS_SELECTOR, ".legend").text
    assert "Microsoft (4)" in legend


def test_the_browser_is_the_system_chromium(browser):
    # The version the driver reports is the installed package's, not a downloaded build's.
    shown = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=30).stdout
    assert browser.capabilities["browserVersion"] in shown
