"""The per-customer allow-list as the scanner reads it, and the detectors honouring it."""

from __future__ import annotations

import json
from pathlib import Path

from detectors.classifier import Context, classify
from detectors.message import from_graph
from monitor.allowlist import allowed_senders, normalise_sender
from monitor.db import session_scope
from monitor.models import AllowedSender, Tenant

WORKSHOP = Path(__file__).resolve().parents[1] / "monitor" / "demo" / "01-microsoft-copilot-workshop.json"


def test_allowed_senders_are_per_customer(web_engine):
    with session_scope(web_engine) as session:
        a, b = Tenant(name="A"), Tenant(name="B")
        session.add(a)
        session.add(b)
        session.flush()
        session.add(AllowedSender(tenant_id=a.id, value="microsoft.com"))
        session.add(AllowedSender(tenant_id=a.id, value="rep@dell.com"))
        session.add(AllowedSender(tenant_id=b.id, value="cisco.com"))
        session.flush()
        assert allowed_senders(session, a.id) == {"microsoft.com", "rep@dell.com"}
        assert allowed_senders(session, b.id) == {"cisco.com"}
        assert allowed_senders(session, 999) == set()


def test_the_detectors_honour_an_allow_listed_domain_or_address(web_engine):
    message = from_graph(json.loads(WORKSHOP.read_text(encoding="utf-8")))
    assert classify(message, Context.build()).label == "vendor_outreach"
    with session_scope(web_engine) as session:
        tenant = Tenant(name="Contoso")
        session.add(tenant)
        session.flush()
        session.add(AllowedSender(tenant_id=tenant.id, value="microsoft.com"))
        session.flush()
        allowed = allowed_senders(session, tenant.id)
    assert classify(message, Context.build(allow_senders=allowed)).label != "vendor_outreach"
    by_address = {message.sender_address.address.lower()}
    assert classify(message, Context.build(allow_senders=by_address)).label != "vendor_outreach"


def test_normalise_sender():
    assert normalise_sender(" Rep@Dell.COM ") == "rep@dell.com"
    assert normalise_sender("@dell.com") == "dell.com"
    assert normalise_sender("mailto:a@b.example") == "a@b.example"
    for bad in ("", "dell", "a b@c.example", "<x>@y.example", "=cmd|' /C calc'!A0@dell.com"):
        assert normalise_sender(bad) == ""
