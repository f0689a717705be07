"""The log, its filters and pages, one detection's page, and the overview."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from web_support import HOSTILE_SUBJECT, NOW, Client, add_users, seed

from monitor.db import session_scope
from monitor.models import Alert, Detection


@pytest.fixture
def world(web_engine):
    add_users(web_engine, vic="viewer")
    return seed(web_engine)


@pytest.fixture
def client(web_app, world):
    client = Client(web_app)
    client.sign_in("vic")
    return client


def subjects(page: str) -> list[str]:
    return re.findall(r'<td class="subject"><a href="[^"]+"><bdi>(.*?)</bdi>', page)


def test_the_log_lists_detections_newest_first(client):
    page = client.get("/log").get_data(as_text=True)
    found = subjects(page)
    assert found[0] == "Free Copilot workshop for your team"
    assert found[-1] == "Switch IT providers"
    assert len(found) == 8
    assert "1–8 of 8" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("vendor=Dell", {"Refresh your laptops directly with Dell", "=HYPERLINK(&#34;http://evil&#34;)"}),
        ("label=impersonation", {"Password expiry"}),
        ("q=copilot", {"Free Copilot workshop for your team"}),
        ("q=MERAKI%40cisco", {"Meraki trial, no partner needed"}),  # sender address, any case
        ("q=someone2%40contoso", {"Refresh your laptops directly with Dell"}),  # a recipient
        ("q=100%25", set()),  # % is a character to find, not a wildcard
        (
            "since=2025-03-12&until=2025-03-13",
            {
                "Azure migration estimate",
                "Meraki trial, no partner needed",
                "Free Copilot workshop for your team",
            },
        ),
        (
            "vendor=Microsoft&label=vendor_outreach&until=2025-03-12",
            {
                "Azure migration estimate",
                HOSTILE_SUBJECT.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;"),
            },
        ),
    ],
)
def test_filters(client, query, expected):
    assert set(subjects(client.get(f"/log?{query}").get_data(as_text=True))) == expected


def test_filter_by_customer_and_status(client, web_engine, world):
    with session_scope(web_engine) as session:
        detection = session.get(Detection, world["ids"][5])
        detection.status = "acknowledged"
        session.add(detection)
    page = client.get(f"/log?tenant={world['fabrikam']}&status=acknowledged").get_data(as_text=True)
    assert subjects(page) == ["Meraki trial, no partner needed"]
    assert "1–1 of 1" in page


def test_bad_filter_values_are_reported_not_fatal(client):
    page = client.get("/log?since=yesterday&status=bogus&tenant=x")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "From is not a date" in text and "unknown status" in text and "unknown customer" in text
    assert len(subjects(text)) == 8


def test_pages_of_the_log(client, web_engine, world):
    with session_scope(web_engine) as session:
        for i in range(17):
            session.add(
                Detection(
                    tenant_id=world["contoso"],
                    mailbox_id=1,
                    internet_message_id=f"<bulk{i}@x>",
                    label="vendor_outreach",
                    vendor="HP",
                    subject=f"Bulk offer {i:02d}",
                    sender_address="sales@hp.com",
                    received_at=NOW - timedelta(days=100, hours=i),
                )
            )
    first = client.get("/log?vendor=HP").get_data(as_text=True)
    assert "1–10 of 17" in first and "Page 1 of 2" in first
    assert subjects(first)[0] == "Bulk offer 00"
    assert 'href="?vendor=HP&amp;page=2"' in first
    second = client.get("/log?vendor=HP&page=2").get_data(as_text=True)
    assert "11–17 of 17" in second
    assert subjects(second) == [f"Bulk offer {i:02d}" for i in range(10, 17)]
    assert "Bulk offer 09" not in second
    # A page past the end shows the last one.
    assert "11–17 of 17" in client.get("/log?vendor=HP&page=99").get_data(as_text=True)


def test_a_hostile_subject_is_shown_as_text(client, world):
    for url in ("/log", f"/detections/{world['ids'][6]}", "/?by=vendor"):
        page = client.get(url).get_data(as_text=True)
        assert "<script>window.__pwned" not in page
        assert "<img src=x" not in page
    detail = client.get(f"/detections/{world['ids'][6]}").get_data(as_text=True)
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in detail


def test_bidi_and_control_characters_are_removed_from_what_is_shown(client, web_engine, world):
    with session_scope(web_engine) as session:
        detection = session.get(Detection, world["ids"][2])
        detection.subject = "Invoice \u202egpj.exe\u202c due\x1b[31m"
        session.add(detection)
    page = client.get(f"/detections/{world['ids'][2]}").get_data(as_text=True)
    assert "\u202e" not in page and "\x1b" not in page
    assert "Invoice gpj.exe due [31m" in page


def test_detection_page_shows_what_a_reviewer_needs(client, world):
    page = client.get(f"/detections/{world['ids'][0]}").get_data(as_text=True)
    assert "Contoso Dental" in page
    assert "Sender 0</bdi> &lt;<bdi>rep@microsoft.com</bdi>&gt;" in page
    assert "owner@contoso.example</bdi>, <bdi>someone0@contoso.example" in page
    assert "2025-03-13 12:00:00" in page  # received, in the configured zone (UTC)
    assert "Sent from the vendor&#39;s own domain" in page
    assert "&lt;b&gt;free&lt;/b&gt; workshop" in page  # evidence is text, not markup
    assert "&lt;a href=&#39;javascript:alert(1)&#39;&gt;book a call" in page  # snippet is text
    assert 'href="https://outlook.office365.com/owa/?ItemID=AAMk0&amp;exvsurl=1"' in page
    assert 'href="https://msp.slack.com/archives/C0123ABCD/p1710417600000100"' in page
    assert "Alert posted to Slack (C0123ABCD)" in page  # in the history


def test_only_https_outlook_links_are_clickable(client, web_engine, world):
    with session_scope(web_engine) as session:
        detection = session.get(Detection, world["ids"][3])
        detection.web_link = "javascript:alert(document.cookie)"
        session.add(detection)
    page = client.get(f"/detections/{world['ids'][3]}").get_data(as_text=True)
    assert "javascript:alert(document.cookie)" not in page
    assert "No Outlook link" in page


def test_slack_replies_link_into_their_thread(client, web_engine, world):
    with session_scope(web_engine) as session:
        session.add(
            Alert(
                detection_id=world["ids"][1],
                tenant_id=world["contoso"],
                state="sent",
                channel="C0123ABCD",
                ts="1710417700.000200",
                thread_ts="1710417600.000100",
                sent_at=NOW,
            )
        )
    page = client.get(f"/detections/{world['ids'][1]}").get_data(as_text=True)
    assert "/archives/C0123ABCD/p1710417700000200?thread_ts=1710417600.000100&amp;cid=C0123ABCD" in page


def test_unknown_detection_is_a_clear_404(client):
    response = client.get("/detections/999999")
    assert response.status_code == 404
    assert "no detection with this number" in response.get_data(as_text=True)


def test_overview_counts_per_vendor_and_customer(client):
    page = client.get("/?since=2025-02-10&until=2025-03-14").get_data(as_text=True)
    assert '<strong id="total">7</strong>' in page  # the competitor mail 40 days ago is outside
    assert "Microsoft (4)" in page and "Dell (2)" in page and "Cisco (1)" in page
    assert page.count("<rect x=") >= 4  # bars drawn
    pairs = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td>\s*<td class=\"num\"><a [^>]+>(\d+)</a>", page)
    assert ("Contoso Dental", "Microsoft", "3") in pairs
    assert ("Fabrikam", "Cisco", "1") in pairs
    by_customer = client.get("/?since=2025-02-10&until=2025-03-14&by=customer").get_data(as_text=True)
    assert "Contoso Dental (5)" in by_customer and "Fabrikam (2)" in by_customer


def test_overview_defaults_to_recent_weeks_per_week(client):
    page = client.get("/").get_data(as_text=True)
    assert "per week" in page


def test_recipients_json_that_is_not_a_list_does_not_break_the_page(client, web_engine, world):
    with session_scope(web_engine) as session:
        detection = session.get(Detection, world["ids"][4])
        detection.recipients = json.dumps({"not": "a list"})
        detection.rules = "not json"
        session.add(detection)
    page = client.get(f"/detections/{world['ids'][4]}")
    assert page.status_code == 200
    assert "No reasons were recorded." in page.get_data(as_text=True)


def test_out_of_range_filters_and_ids_are_refused_cleanly(client):
    for url in (
        "/log?until=9999-12-31",
        "/log?since=0001-01-01",
        "/log?tenant=²",
        "/log?page=²",
        "/api/detections?until=9999-12-31",
        "/api/detections?page=²",
    ):
        assert client.get(url).status_code in (200, 400), url
    assert client.get("/detections/99999999999999999999999").status_code == 404
