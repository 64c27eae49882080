#!/usr/bin/python3
"""dashboard.py -- the dashboard in a real browser (Debian's headless Chromium driven by
Selenium), run by tests/e2e/test_dashboard.c against a running system.

Checks that the page, given an API key, shows the same numbers as GET /figures; that a
notification posted while the page is open appears without a reload (pushed by the
server's event stream); that the timeline of a searched externalId is its history, event
for event; and saves a screenshot. Environment: NS_QUERY_URL, NS_INGEST_URL, NS_KEY,
NS_SEARCH_ID, NS_SCREENSHOT. Exits 0 when every check passed, 1 (saying which failed)
otherwise; it never skips."""

import json
import os
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

QUERY = os.environ["NS_QUERY_URL"]
INGEST = os.environ["NS_INGEST_URL"]
KEY = os.environ["NS_KEY"]
SEARCH_ID = os.environ["NS_SEARCH_ID"]
SHOT = os.environ["NS_SCREENSHOT"]


def request(method, url, body=None):
    req = urllib.request.Request(url, method=method, data=body)
    req.add_header("Authorization", "Bearer " + KEY)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, json.loads(r.read() or b"null")


def api(path):
    return request("GET", QUERY + path)[1]


def eventually(what, cond, seconds=20.0):
    """Wait until cond() returns a true value; fail naming what was awaited."""
    deadline = time.time() + seconds
    last = None
    while time.time() < deadline:
        try:
            last = cond()
            if last:
                return last
        except Exception as e:  # the page may be mid-redraw
            last = e
        time.sleep(0.2)
    raise AssertionError("%s (last: %r)" % (what, last))


def shown_counts(driver):
    cells = driver.find_elements(By.CSS_SELECTOR, "#counts td[data-count]")
    return {c.get_attribute("data-count"): int(c.text) for c in cells if c.text != "0"}


def api_counts():
    return {c["channel"] + "/" + c["status"]: c["count"] for c in api("/figures")["counts"]}


def check_numbers(driver):
    want = api_counts()
    eventually("the counts on the page equal GET /figures %s" % want,
               lambda: shown_counts(driver) == want)
    total = driver.find_element(By.ID, "total").get_attribute("data-total")
    assert int(total) == sum(want.values()), "total %s, figures say %d" % (total, sum(want.values()))
    f = api("/figures?windowMinutes=60&hours=1")
    for r in f["rates"]:
        cell = driver.find_element(By.CSS_SELECTOR, '#rates td[data-accepted="%s"]' % r["channel"])
        assert int(cell.text) == r["accepted"], "accepted of %s: %s vs %d" % (r["channel"], cell.text, r["accepted"])
    for p in f["projector"]:
        driver.find_element(By.CSS_SELECTOR, '#projector td[data-lag="%d"]' % p["partition"])
    sums = {p.get_attribute("data-kind"): int(p.get_attribute("data-sum"))
            for p in driver.find_elements(By.CSS_SELECTOR, "#volumes polyline")}
    for kind, n in sums.items():
        api_sum = sum(m.get(kind, 0) for m in f["volumes"]["minutes"])
        assert n == api_sum, "volume %s: chart %d, figures %d" % (kind, n, api_sum)
    assert "accepted" in sums, "no accepted line in the chart: %s" % sums
    rate_lines = driver.find_elements(By.CSS_SELECTOR, "#rate-chart polyline")
    channels = {c["channel"] for c in f["rateSeries"]["channels"]}
    assert {p.get_attribute("data-channel") for p in rate_lines} == channels, \
        "rate chart channels %s, figures %s" % ([p.get_attribute("data-channel") for p in rate_lines], channels)
    print("dashboard: numbers equal GET /figures (%d notifications)" % sum(want.values()))


def check_live(driver):
    before = int(driver.find_element(By.ID, "total").get_attribute("data-total"))
    driver.execute_script("window.__notReloaded = true;")
    ext = "dash-live-%d" % int(time.time() * 1000)
    status, _ = request("POST", INGEST + "/notifications", json.dumps(
        {"channel": "sms", "to": "+4915112345678", "body": "live", "externalId": ext}).encode())
    assert status == 202, "POST: %d" % status
    eventually("the new notification counted without a reload",
               lambda: int(driver.find_element(By.ID, "total").get_attribute("data-total")) == before + 1)
    assert driver.execute_script("return window.__notReloaded === true;"), "the page reloaded"
    assert driver.find_element(By.ID, "live").text == "live", "the stream is not connected"
    print("dashboard: a notification posted during the test appeared live (%d -> %d)" % (before, before + 1))


def check_timeline(driver):
    box = driver.find_element(By.ID, "search")
    box.clear()
    box.send_keys(SEARCH_ID)
    driver.find_element(By.CSS_SELECTOR, "#search-form button").click()
    want = [e["eventId"] for e in api("/notifications/%s/events?limit=1000" % SEARCH_ID)["events"]]
    eventually("the timeline of %s equals its history %s" % (SEARCH_ID, want),
               lambda: [li.get_attribute("data-event-id")
                        for li in driver.find_elements(By.CSS_SELECTOR, "#timeline li")] == want)
    status = api("/notifications/" + SEARCH_ID)["status"]
    # the live stream may redraw the card between finding it and reading it
    eventually("the status shown is query's %s" % status,
               lambda: driver.find_element(By.CSS_SELECTOR, "#notification p")
               .get_attribute("data-status") == status)
    print("dashboard: the timeline of %s matches its %d events" % (SEARCH_ID, len(want)))


def main():
    opts = Options()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1400,1500", "--no-first-run", "--disable-extensions"):
        opts.add_argument(a)
    opts.binary_location = "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        driver.get(QUERY + "/dashboard")
        driver.find_element(By.ID, "key").send_keys(KEY)
        driver.find_element(By.CSS_SELECTOR, "#key-form button").click()
        eventually("the page loaded the figures",
                   lambda: driver.find_element(By.TAG_NAME, "body").get_attribute("data-loaded"))
        eventually("the event stream connected",
                   lambda: driver.find_element(By.ID, "live").text == "live")
        check_numbers(driver)
        check_live(driver)
        check_timeline(driver)
        driver.save_screenshot(SHOT)
        print("dashboard: screenshot %s" % SHOT)
    finally:
        driver.quit()


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("dashboard: FAILED: %s" % e, file=sys.stderr)
        sys.exit(1)
