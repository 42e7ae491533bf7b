"""The front desk in a real browser: Chromium from Debian driven by Playwright, against a real
crmd daemon and a real `crmd web` on a free loopback port, in a temporary data directory.

Run by `make test` (after the Swift suites built .build/debug/crmd). Screenshots of every page
land in .build/screenshots/.
"""

import csv
import io
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from datetime import datetime, timezone

import pytest
from playwright.sync_api import sync_playwright

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CRMD = os.environ.get("CRMD", os.path.join(ROOT, ".build", "debug", "crmd"))
SHOTS = os.path.join(ROOT, ".build", "screenshots")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

PASSWORDS = {"maryam": "رمز بلند مریم ۱۴۰۵", "ali": "ali's long password", "sara": "sara's long password"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    """A crmd daemon on a temporary directory, spoken to over its Unix socket."""

    def __init__(self, directory):
        self.directory = directory
        self.socket = os.path.join(directory, "crmd.sock")
        self.process = subprocess.Popen(
            [CRMD, "serve", "--data", directory], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while not os.path.exists(self.socket):
            assert time.time() < deadline and self.process.poll() is None, "the daemon did not start"
            time.sleep(0.05)

    def call(self, op, args, **extra):
        request = dict(id=1, op=op, args=args, **extra)
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(10)
            s.connect(self.socket)
            s.sendall((json.dumps(request, ensure_ascii=False) + "\n").encode())
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                assert chunk, "the daemon closed the connection"
                data += chunk
        answer = json.loads(data)
        assert answer["ok"], (op, args, answer)
        return answer["result"]

    def stop(self):
        self.process.kill()
        self.process.wait()


@pytest.fixture(scope="module")
def company():
    """Two agents and a manager with logins, customers, a product, an invoice, a deal, a follow-up;
    the front desk serving them on a free loopback port."""
    directory = tempfile.mkdtemp(prefix="crmd-browser-")
    daemon = Daemon(directory)
    web = None
    try:
        d = daemon.call
        d("agent.hire", {"agentId": "maryam", "name": "مریم رضایی", "role": "agent"})
        d("agent.hire", {"agentId": "ali", "name": "علی محمدی", "role": "agent"})
        d("agent.hire", {"agentId": "sara", "name": "سارا کریمی", "role": "manager"})
        d("product.define", {"productId": "printer", "name": "چاپگر لیزری",
                             "unitPrice": {"amount": 250000000, "currency": "IRR"}})
        d("customer.register", {"customerId": "c1", "name": "رضا رضایی", "phones": ["0912 345 6789"],
                                "agentId": "maryam", "source": {"channel": "instagram", "campaign": "نوروز ۱۴۰۵"}})
        d("customer.register", {"customerId": "c2", "name": "شرکت پارس", "phones": ["021 4444 5555"],
                                "agentId": "ali"})
        d("call.log", {"customerId": "c1", "direction": "inbound", "text": "قیمت چاپگر را پرسید",
                       "at": "2026-10-03T09:00:00+03:30"}, **{"as": "maryam"})
        d("invoice.issue", {"invoiceId": "inv1", "customerId": "c1", "agentId": "maryam",
                            "lines": [{"productId": "printer", "quantity": 2}],
                            "dueAt": "2026-11-01T00:00:00+03:30", "at": "2026-10-05T10:00:00+03:30"})
        d("deal.open", {"dealId": "d1", "customerId": "c1", "agentId": "maryam", "title": "چاپگر دفتر",
                        "value": {"amount": 500000000, "currency": "IRR"}})
        due = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        d("followup.schedule", {"customerId": "c1", "agentId": "maryam", "due": due, "kind": "call"})
        for user, password in PASSWORDS.items():
            subprocess.run([CRMD, "web", "user", "add", user, "--data", directory],
                           input=password + "\n", text=True, check=True, capture_output=True)
        port = free_port()
        web = subprocess.Popen([CRMD, "web", "--data", directory, "--listen", f"127.0.0.1:{port}"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.time() < deadline and web.poll() is None, "crmd web did not start"
                time.sleep(0.05)
        yield daemon, base
    finally:
        if web:
            web.kill()
            web.wait()
        daemon.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    os.makedirs(SHOTS, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


def log_in(browser, base, user, password=None):
    page = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True).new_page()
    page.goto(base + "/login")
    page.fill("#username", user)
    page.fill("#password", password or PASSWORDS[user])
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page


def shot(page, name):
    page.screenshot(path=os.path.join(SHOTS, name + ".png"), full_page=True)


def test_a_wrong_password_is_refused_and_the_right_one_opens_search(company, browser):
    _, base = company
    page = log_in(browser, base, "maryam", "not her password at all")
    assert page.url.endswith("/login")
    assert page.locator("[role=alert]").is_visible()
    assert page.locator("html").get_attribute("dir") == "rtl"
    shot(page, "login-refused")
    page.fill("#username", "maryam")
    page.fill("#password", PASSWORDS["maryam"])
    page.click("button[type=submit]")
    assert page.url.endswith("/search")
    shot(page, "search")


def test_a_phone_in_persian_digits_finds_the_file_and_a_call_lands_on_top(company, browser):
    _, base = company
    page = log_in(browser, base, "maryam")
    page.fill("#q", "۰۹۱۲-۳۴۵-۶۷۸۹")
    page.press("#q", "Enter")
    assert page.url.endswith("/customers/c1"), page.url
    assert page.inner_text("#customer-name") == "رضا رضایی"
    assert "۱۴۰۵/" in page.inner_text("#timeline"), "Jalali dates with Persian digits"
    page.select_option("#call-direction", "outbound")
    page.fill("#call-text", "پیش‌فاکتور چاپگر فرستاده شد")
    page.click("#form-call button[type=submit]")
    assert page.url.endswith("/customers/c1")
    first = page.locator("#timeline tr").nth(1)
    assert "پیش‌فاکتور چاپگر فرستاده شد" in first.inner_text(), "the new call is at the top of the timeline"
    shot(page, "customer-file")


def test_an_edited_phone_shows_the_old_number_in_the_as_of_view(company, browser):
    _, base = company
    page = log_in(browser, base, "maryam")
    page.goto(base + "/customers/c1")
    before = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    time.sleep(1.1)
    page.fill("#edit-phones", "0935 111 2222")
    page.click("#form-edit button[type=submit]")
    assert "0935 111 2222" in page.inner_text("#details")
    assert "0912 345 6789" in page.inner_text("#changes"), "the change, with the old number"
    page.goto(base + "/customers/c1?asOf=" + before)
    assert "0912 345 6789" in page.inner_text("#details"), "the file as the log knew it before the edit"
    assert page.locator("#as-of-note").is_visible()
    assert page.locator("#form-call").count() == 0, "a past view is read only"
    shot(page, "customer-file-as-of")


def test_an_agent_cannot_open_another_agents_customer_nor_find_them(company, browser):
    _, base = company
    page = log_in(browser, base, "maryam")
    response = page.goto(base + "/customers/c2")
    assert response.status == 403
    assert "شرکت پارس" not in page.content()
    page.goto(base + "/search?q=" + "021 4444 5555")
    assert page.locator("#no-results").is_visible()
    assert page.goto(base + "/dashboard").status == 403


def test_the_managers_dashboard_charts_sales_by_persian_month_and_downloads_csv(company, browser):
    _, base = company
    page = log_in(browser, base, "sara")
    page.goto(base + "/dashboard")
    chart = page.locator("svg#sales-chart")
    assert chart.is_visible()
    assert "مهر ۱۴۰۵" in chart.inner_html(), "the October 2026 invoice is in Mehr 1405"
    assert chart.locator("rect.bar").count() >= 1
    shot(page, "dashboard")
    with page.expect_download() as download:
        page.click("#csv-receivables")
    path = download.value.path()
    with open(path, encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][0] == "کارشناس"
    assert rows[1][:2] == ["maryam", "1"], rows
    assert rows[1][2] == "500,000,000"
    assert len(rows) == 2


def test_the_agenda_deals_and_audit_pages_open(company, browser):
    _, base = company
    agent = log_in(browser, base, "maryam")
    agent.goto(base + "/agenda")
    assert agent.locator("#followups tr").count() == 2
    shot(agent, "agenda")
    agent.goto(base + "/deals")
    agent.select_option("#deal-d1 select[name=stage]", "proposal")
    agent.click("#deal-d1 form[action$=move] button")
    assert agent.locator("#stage-proposal #deal-d1").is_visible()
    shot(agent, "deals")
    manager = log_in(browser, base, "sara")
    manager.goto(base + "/audit?type=DealMoved")
    assert "DealMoved" in manager.inner_text("#events")
    manager.click("#verify-now")
    assert manager.locator("#verified").is_visible()
    assert "sara" in manager.inner_text("#last-verify")
    shot(manager, "audit")


def test_a_form_without_its_csrf_token_is_refused_and_logout_ends_the_session(company, browser):
    daemon, base = company
    page = log_in(browser, base, "maryam")
    page.goto(base + "/customers/c1")
    page.evaluate("document.querySelector('#form-note input[name=csrf]').remove()")
    page.fill("#note-text", "این یادداشت نباید ثبت شود")
    with page.expect_navigation() as navigation:
        page.click("#form-note button[type=submit]")
    assert navigation.value.status == 403
    notes = [i for i in daemon.call("customer.get", {"customerId": "c1"})["interactions"] if i["kind"] == "note"]
    assert notes == [], "nothing was written"
    page.goto(base + "/search")
    page.click("#logout")
    assert page.url.endswith("/login")
    page.goto(base + "/customers/c1")
    assert page.url.endswith("/login"), "the session ended"
