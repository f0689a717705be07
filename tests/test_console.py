"""The terminal sink: readable alerts, and nothing from an email drives the terminal."""

from __future__ import annotations

import io
from datetime import timedelta

from alerts.console import ConsoleSink
from alerts.outbox import Item, Post, enqueue, flush, make_sink
from monitor.config import SLACK_TOKEN_ENV
from monitor.db import session_scope
from monitor.models import Tenant, utcnow

PAYLOAD = {
    "detection_id": 12,
    "tenant": "Contoso Ltd",
    "mailbox": "anna@contoso.com",
    "recipients": ["anna@contoso.com"],
    "sender_name": "Jane Rep",
    "sender_address": "jane.rep@microsoft.com",
    "vendor": "Microsoft",
    "label": "vendor_outreach",
    "score": 0.92,
    "subject": "Free Azure migration assessment",
    "received": "2024-05-02T09:14:00Z",
    "reasons": [
        {
            "id": "vendor_domain",
            "description": "Sender domain belongs to Microsoft",
            "evidence": "microsoft.com",
            "weight": 2,
        },
        {
            "id": "free_offer",
            "description": "Offers a free assessment",
            "evidence": "free Azure migration assessment",
            "weight": 1,
        },
    ],
    "snippet": "Hi Anna, I'm reaching out from Microsoft about a free assessment...",
    "web_link": "https://outlook.office365.com/owa/?ItemID=AAMk&exvsurl=1",
}


def printed(post: Post, *, color: bool = False) -> str:
    out = io.StringIO()
    ConsoleSink("http://127.0.0.1:8080", stream=out, color=color).post(post)
    return out.getvalue()


def test_alert_shows_who_what_why_and_links() -> None:
    text = printed(Post("campaign", "", "Contoso Ltd", (Item(1, PAYLOAD),), 1))
    for expected in (
        "Vendor outreach · Contoso Ltd",
        "anna@contoso.com",
        "Jane Rep <jane.rep@microsoft.com>",
        "Microsoft",
        "Free Azure migration assessment",
        "0.92",
        "• Sender domain belongs to Microsoft — “microsoft.com”",
        "http://127.0.0.1:8080/detections/12",
        "https://outlook.office365.com/owa/?ItemID=AAMk",
    ):
        assert expected in text, expected
    assert "\x1b" not in text  # no colour when not a terminal


def test_terminal_control_sequences_from_email_are_removed() -> None:
    hostile = dict(
        PAYLOAD,
        subject="\x1b]0;pwned\x07\x1b[2J\x1b[31mURGENT\x9b31m \u202eexe.gpj" + "S" * 5000,
        sender_name="Eve\r\nFrom: ceo@contoso.com\x1b[1A",
        snippet="\x1bP+q\x1b\\ hi\x08\x08\x08",
        web_link="javascript:alert(1)",
        tenant="Contoso\x1b[8m",
    )
    for color in (False, True):
        text = printed(Post("campaign", "", "Contoso\x1b[8m", (Item(1, hostile),), 1), color=color)
        ours = (
            text.replace("\x1b[0m", "").replace("\x1b[1m", "").replace("\x1b[33m", "").replace("\x1b[2m", "")
        )
        assert "\x1b" not in ours and "\x07" not in text and "\x9b" not in text and "\x08" not in text
        assert "\u202e" not in text and "\r" not in text
        assert "javascript:" not in text
        assert "URGENT" in text and max(len(line) for line in text.splitlines()) < 200


def test_flush_without_slack_token_prints_to_the_terminal(
    alerts_settings, alerts_engine, monkeypatch
) -> None:
    monkeypatch.delenv(SLACK_TOKEN_ENV, raising=False)
    out = io.StringIO()
    sink = make_sink(alerts_settings, stream=out)
    assert isinstance(sink, ConsoleSink)
    with session_scope(alerts_engine) as s:
        tenant = Tenant(name="Contoso Ltd")
        s.add(tenant)
        s.flush()
        enqueue(s, kind="detection", tenant_id=tenant.id, payload=PAYLOAD)
        enqueue(
            s,
            kind="tenant_health",
            tenant_id=tenant.id,
            payload={
                "tenant": "Contoso Ltd",
                "event": "needs_reconnect",
                "reason": "the user revoked consent",
                "command": "outreach-monitor connect --tenant 'Contoso Ltd'",
            },
        )
    now = utcnow()
    assert flush(alerts_engine, alerts_settings, sink, now=now).sent == 2
    with session_scope(alerts_engine) as s:
        enqueue(
            s,
            kind="detection",
            tenant_id=tenant.id,
            payload=dict(PAYLOAD, mailbox="bob@contoso.com", detection_id=13),
        )
    flush(alerts_engine, alerts_settings, sink, now=now + timedelta(seconds=30))
    text = out.getvalue()
    assert "Jane Rep <jane.rep@microsoft.com>" in text
    assert (
        "Reconnect needed · Contoso Ltd" in text and "outreach-monitor connect --tenant 'Contoso Ltd'" in text
    )
    assert "↳ 1 more mailbox at Contoso Ltd received “Free Azure migration assessment” (2 in all)" in text
    assert "bob@contoso.com  https://review.msp.example/detections/13" in text
    assert "has now reached 2 mailboxes" in text
