"""CSV export of the filtered log (formulas neutralised, streamed) and the read-only JSON API."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import insert
from web_support import HOSTILE_SUBJECT, NOW, Client, add_users, seed

from monitor.db import session_scope
from monitor.models import Detection
from monitor.web.exports import BATCH, neutralise
from monitor.web.users import get_user, issue_token


@pytest.fixture
def world(web_engine):
    add_users(web_engine, vic="viewer", rita="reviewer")
    return seed(web_engine)


@pytest.fixture
def client(web_app, world):
    client = Client(web_app)
    client.sign_in("vic")
    return client


@pytest.fixture
def token(web_engine, world):
    with session_scope(web_engine) as session:
        return issue_token(session, get_user(session, "vic"))


def read_csv(response) -> list[dict[str, str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # so that Excel reads UTF-8
    return list(csv.DictReader(io.StringIO(text[1:])))


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "' =1"),
        ("   =1", "'   =1"),
        ("\uff1dcmd", "'\uff1dcmd"),  # full-width equals sign
        ("Free workshop", "Free workshop"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise(cell, expected):
    assert neutralise(cell) == expected


def test_csv_export_is_the_filtered_log_with_formulas_neutralised(client, world):
    response = client.get("/log.csv?vendor=Dell")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="outreach-log-')
    rows = read_csv(response)
    assert [r["subject"] for r in rows] == [
        "Refresh your laptops directly with Dell",
        '\'=HYPERLINK("http://evil")',
    ]
    hostile = rows[1]
    assert hostile["sender address"].startswith("'=cmd")
    assert hostile["customer"] == "Contoso Dental"
    assert hostile["recipients"] == "owner@contoso.example; someone4@contoso.example"
    assert hostile["status"] == "New"
    assert hostile["reasons"] == (
        "Sent from the vendor's own domain: =cmd|' /C calc'!A0@dell.com | Offers something free: <b>free</b> workshop"
    )
    assert hostile["review link"] == f"http://127.0.0.1:8080/detections/{world['ids'][4]}"
    assert hostile["outlook link"].startswith("https://outlook.office365.com/")
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@")), value


def test_csv_export_keeps_hostile_text_as_text(client):
    rows = read_csv(client.get("/log.csv?q=pwned"))
    assert [r["subject"] for r in rows] == [HOSTILE_SUBJECT]


def test_csv_export_streams_every_row_across_batches(client, web_engine, world):
    n = BATCH * 2 + 7
    rows = [
        {
            "tenant_id": world["contoso"],
            "mailbox_id": 1,
            "internet_message_id": f"<many{i}@x>",
            "label": "vendor_outreach",
            "vendor": "Lenovo",
            "subject": f"Offer {i}",
            "sender_address": "sales@lenovo.com",
            "recipients": "[]",
            "rules": "[]",
            "snippet": "",
            "web_link": "",
            "status": "new",
            "outcome": "",
            "score": 0.7,
            "received_at": NOW - timedelta(minutes=i),
            "created_at": NOW,
            "updated_at": NOW,
            "deleted_in_mailbox": False,
            "graph_message_id": "",
            "conversation_id": "",
            "sender_name": "",
        }
        for i in range(n)
    ]
    with session_scope(web_engine) as session:
        session.execute(insert(Detection), rows)
    response = client.get("/log.csv?vendor=Lenovo")
    assert response.is_streamed
    exported = read_csv(response)
    assert len(exported) == n
    assert exported[0]["subject"] == "Offer 0" and exported[-1]["subject"] == f"Offer {n - 1}"
    assert len({r["id"] for r in exported}) == n


def test_api_needs_a_token_or_a_session(web_app, world, token):
    anonymous = web_app.test_client()
    response = anonymous.get("/api/detections")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert anonymous.get("/api/detections", headers={"Authorization": "Bearer omt_wrong"}).status_code == 401
    ok = anonymous.get("/api/detections", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    # The token opens the API only, not the pages.
    assert anonymous.get("/log", headers={"Authorization": f"Bearer {token}"}).status_code == 302


def test_api_lists_with_the_same_filters_as_the_log(web_app, world, token):
    api = web_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    body = api.get(f"/api/detections?tenant={world['contoso']}&vendor=Microsoft", headers=headers).get_json()
    assert body["count"] == 3
    assert [d["subject"] for d in body["detections"]] == [
        "Free Copilot workshop for your team",
        "Azure migration estimate",
        "Password expiry",
    ]
    first = body["detections"][0]
    assert first["customer"] == {"id": world["contoso"], "name": "Contoso Dental"}
    assert first["sender"] == {"name": "Sender 0", "address": "rep@microsoft.com"}
    assert first["reasons"][0]["description"] == "Sent from the vendor's own domain"
    assert first["review_url"].endswith(f"/detections/{world['ids'][0]}")
    assert first["received_at"].startswith("2025-03-13T12:00:00")

    paged = api.get("/api/detections?per_page=3&page=2", headers=headers).get_json()
    assert (paged["count"], paged["pages"], paged["page"], len(paged["detections"])) == (8, 3, 2, 3)
    beyond = api.get("/api/detections?per_page=3&page=4", headers=headers).get_json()
    assert (beyond["page"], beyond["detections"]) == (4, [])
    assert api.get("/api/detections?per_page=0", headers=headers).status_code == 400
    bad = api.get("/api/detections?since=soon", headers=headers)
    assert bad.status_code == 400 and "not a date" in bad.get_json()["error"]


def test_api_detection_has_history_and_is_read_only(web_app, world, token):
    reviewer = Client(web_app)
    reviewer.sign_in("rita")
    reviewer.post(f"/detections/{world['ids'][0]}/triage", {"status": "acknowledged", "note": "on it"})
    api = web_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    body = api.get(f"/api/detections/{world['ids'][0]}", headers=headers).get_json()
    assert body["status"] == "acknowledged"
    assert body["history"][0]["user"] == "rita" and body["history"][0]["note"] == "on it"
    assert body["slack_urls"] == ["https://msp.slack.com/archives/C0123ABCD/p1710417600000100"]
    assert api.get("/api/detections/424242", headers=headers).status_code == 404
    for method in (api.post, api.put, api.delete):
        assert method(f"/api/detections/{world['ids'][0]}", headers=headers).status_code == 405


def test_export_links_on_the_log_carry_its_filters(client):
    page = client.get("/log?vendor=Dell&status=new").get_data(as_text=True)
    assert 'href="/log.csv?vendor=Dell&amp;status=new"' in page
    assert 'href="/api/detections?vendor=Dell&amp;status=new"' in page
