"""Helpers for the review-log tests: a small world of detections, and a signed-in test client
that carries the CSRF token like a browser does."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine
from werkzeug.test import TestResponse

from monitor.db import session_scope
from monitor.models import Alert, Detection, Mailbox, Tenant
from monitor.web.users import add_user

PASSWORD = "correct horse battery staple"
HOSTILE_SUBJECT = '<script>window.__pwned=1</script>"><img src=x onerror="window.__pwned=2">'
NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_users(engine: Engine, **roles: str) -> None:
    """add_users(engine, alice="admin", rita="reviewer") — each with PASSWORD."""
    with session_scope(engine) as session:
        for name, role in roles.items():
            add_user(session, name, PASSWORD, role)


def seed(engine: Engine) -> dict[str, Any]:
    """Two customers, three vendors, eight detections (one with a hostile subject, one alerted in Slack)."""
    with session_scope(engine) as s:
        contoso = Tenant(name="Contoso Dental", status="active", domains=json.dumps(["contoso.example"]))
        fabrikam = Tenant(name="Fabrikam", status="active", domains=json.dumps(["fabrikam.example"]))
        s.add(contoso)
        s.add(fabrikam)
        s.flush()
        box_c = Mailbox(tenant_id=contoso.id, address="owner@contoso.example")
        box_f = Mailbox(tenant_id=fabrikam.id, address="admin@fabrikam.example")
        s.add(box_c)
        s.add(box_f)
        s.flush()
        specs = [
            # (mailbox, days ago, vendor, label, sender, subject)
            (
                box_c,
                1,
                "Microsoft",
                "vendor_outreach",
                "rep@microsoft.com",
                "Free Copilot workshop for your team",
            ),
            (box_c, 2, "Microsoft", "vendor_outreach", "seller@microsoft.com", "Azure migration estimate"),
            (box_c, 3, "Dell", "vendor_outreach", "ae@dell.com", "Refresh your laptops directly with Dell"),
            (
                box_c,
                5,
                "Microsoft",
                "impersonation",
                "security@rnicrosoft-support.example",
                "Password expiry",
            ),
            (box_c, 6, "Dell", "vendor_outreach", "=cmd|' /C calc'!A0@dell.com", '=HYPERLINK("http://evil")'),
            (box_f, 2, "Cisco", "vendor_outreach", "meraki@cisco.com", "Meraki trial, no partner needed"),
            (box_f, 9, "Microsoft", "vendor_outreach", "store@microsoft.com", HOSTILE_SUBJECT),
            (box_f, 40, "", "competitor_outreach", "sales@othermsp.example", "Switch IT providers"),
        ]
        ids = []
        for index, (box, days, vendor, label, sender, subject) in enumerate(specs):
            received = NOW - timedelta(days=days)
            d = Detection(
                tenant_id=box.tenant_id,
                mailbox_id=box.id,
                internet_message_id=f"<m{index}@example>",
                received_at=received,
                sender_address=sender,
                sender_name=f"Sender {index}",
                recipients=json.dumps([box.address, f"someone{index}@{box.address.split('@')[1]}"]),
                subject=subject,
                label=label,
                vendor=vendor,
                score=0.8,
                rules=json.dumps(
                    [
                        {
                            "id": "vendor_domain",
                            "description": "Sent from the vendor's own domain",
                            "weight": 2.0,
                            "evidence": sender,
                        },
                        {
                            "id": "offer",
                            "description": "Offers something free",
                            "weight": 1.0,
                            "evidence": "<b>free</b> workshop",
                        },
                    ]
                ),
                snippet=f"Hello,\n<a href='javascript:alert(1)'>book a call</a> {subject}",
                web_link=f"https://outlook.office365.com/owa/?ItemID=AAMk{index}&exvsurl=1",
                created_at=received + timedelta(minutes=1),
                updated_at=received + timedelta(minutes=1),
            )
            s.add(d)
            s.flush()
            ids.append(d.id)
        s.add(
            Alert(
                detection_id=ids[0],
                tenant_id=contoso.id,
                state="sent",
                channel="C0123ABCD",
                ts="1710417600.000100",
                sent_at=NOW - timedelta(days=1),
            )
        )
        return {"contoso": contoso.id, "fabrikam": fabrikam.id, "ids": ids}


class Client:
    """A test client that signs in and sends the page's CSRF token with each POST."""

    def __init__(self, app: Flask) -> None:
        self.http: FlaskClient = app.test_client()
        self.token = ""

    def get(self, url: str, **kwargs: Any) -> TestResponse:
        response = self.http.get(url, **kwargs)
        self._remember(response)
        return response

    def post(
        self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any
    ) -> TestResponse:
        form = dict(data or {})
        if csrf:
            if not self.token:
                self.get("/signin")
            form.setdefault("csrf_token", self.token)
        response = self.http.post(url, data=form, **kwargs)
        self._remember(response)
        return response

    def sign_in(self, username: str, password: str = PASSWORD) -> TestResponse:
        self.get("/signin")
        response = self.post("/signin", {"username": username, "password": password})
        if response.status_code == 302:
            self.get("/account")  # signing in starts a new session, with a new CSRF token
        return response

    def _remember(self, response: TestResponse) -> None:
        if response.mimetype == "text/html":
            found = _CSRF.search(response.get_data(as_text=True))
            if found:
                self.token = found.group(1)
