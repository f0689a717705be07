"""Triage: status changes with outcomes, notes, false positives that allow-list the sender,
and the audit trail of who changed what and when."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select
from web_support import Client, add_users, seed

from monitor.allowlist import allowed_senders
from monitor.models import Detection, TriageEvent


@pytest.fixture
def world(web_engine):
    add_users(web_engine, rita="reviewer", rob="reviewer", vic="viewer")
    return seed(web_engine)


@pytest.fixture
def rita(web_app, world):
    client = Client(web_app)
    client.sign_in("rita")
    return client


def version_of(page: str) -> str:
    return re.search(r'name="version" value="([^"]*)"', page).group(1)


def state(engine, detection_id: int) -> tuple[str, str]:
    with Session(engine) as session:
        detection = session.get(Detection, detection_id)
        return detection.status, detection.outcome


def test_acknowledge_then_resolve_with_an_outcome_and_the_history_says_who(rita, web_engine, world):
    detection = world["ids"][0]
    ack = rita.post(
        f"/detections/{detection}/triage", {"status": "acknowledged", "note": "Calling the owner today"}
    )
    assert ack.status_code == 302
    done = rita.post(
        f"/detections/{detection}/triage", {"status": "resolved", "outcome": "customer_contacted"}
    )
    assert done.status_code == 302
    assert state(web_engine, detection) == ("resolved", "customer_contacted")

    page = rita.get(f"/detections/{detection}").get_data(as_text=True)
    history = page[page.index('id="history"') :]
    assert "<strong>rita</strong> · New → Acknowledged" in history
    assert "<blockquote>Calling the owner today</blockquote>" in history
    assert "<strong>rita</strong> · Acknowledged → Resolved (Customer contacted)" in history
    assert "Saved." in page

    listed = rita.get("/log?status=resolved").get_data(as_text=True)
    assert "Free Copilot workshop for your team" in listed and "Customer contacted" in listed
    audit = rita.get("/history").get_data(as_text=True)
    assert audit.count("<td>rita</td>") == 2


def test_resolving_needs_an_outcome(rita, web_engine, world):
    detection = world["ids"][1]
    response = rita.post(f"/detections/{detection}/triage", {"status": "resolved"})
    assert response.status_code == 409
    assert "Choose an outcome" in response.get_data(as_text=True)
    assert state(web_engine, detection) == ("new", "")


def test_a_note_alone_is_recorded_without_changing_the_status(rita, web_engine, world):
    detection = world["ids"][2]
    note = "Vendor partner manager: <Jane> says it was a mistake"
    assert rita.post(f"/detections/{detection}/triage", {"status": "new", "note": note}).status_code == 302
    assert state(web_engine, detection) == ("new", "")
    with Session(web_engine) as session:
        event = session.exec(select(TriageEvent).where(TriageEvent.detection_id == detection)).one()
    assert (event.action, event.username, event.note) == ("note", "rita", note)
    page = rita.get(f"/detections/{detection}").get_data(as_text=True)
    assert "&lt;Jane&gt;" in page
    nothing = rita.post(f"/detections/{detection}/triage", {"status": "new"})
    assert nothing.status_code == 409 and "Nothing changed" in nothing.get_data(as_text=True)


def test_false_positive_can_allow_list_the_sender_domain_for_that_customer_only(rita, web_engine, world):
    detection = world["ids"][2]  # ae@dell.com to Contoso
    response = rita.post(
        f"/detections/{detection}/triage",
        {"status": "false_positive", "allow": "domain", "note": "Their account manager, expected"},
    )
    assert response.status_code == 302
    assert state(web_engine, detection) == ("false_positive", "")
    with Session(web_engine) as session:
        assert allowed_senders(session, world["contoso"]) == {"dell.com"}
        assert allowed_senders(session, world["fabrikam"]) == set()
    page = rita.get(f"/detections/{detection}").get_data(as_text=True)
    assert "dell.com is allow-listed for this customer (by rita" in page
    assert "Allow-listed dell.com for this customer" in page
    listing = rita.get("/allowlist").get_data(as_text=True)
    assert "<bdi>dell.com</bdi>" in listing and "Contoso Dental" in listing


def test_allow_list_by_address_and_removal_is_audited(rita, web_engine, world):
    detection = world["ids"][5]  # meraki@cisco.com to Fabrikam
    rita.post(f"/detections/{detection}/triage", {"status": "false_positive", "allow": "address"})
    with Session(web_engine) as session:
        assert allowed_senders(session, world["fabrikam"]) == {"meraki@cisco.com"}
    listing = rita.get("/allowlist").get_data(as_text=True)
    entry = re.search(r'action="/allowlist/(\d+)/remove"', listing).group(1)
    assert rita.post(f"/allowlist/{entry}/remove").status_code == 302
    with Session(web_engine) as session:
        assert allowed_senders(session, world["fabrikam"]) == set()
        actions = session.exec(select(TriageEvent.action).order_by(TriageEvent.id)).all()
    assert actions == ["status", "allow", "unallow"]
    assert "removed <bdi>meraki@cisco.com</bdi> from the allow-list" in rita.get("/history").get_data(
        as_text=True
    )


def test_allow_listing_is_only_for_false_positives(rita, web_engine, world):
    detection = world["ids"][0]
    # The form sends "allow" whatever the status; it only counts with false positive.
    rita.post(f"/detections/{detection}/triage", {"status": "acknowledged", "allow": "domain"})
    with Session(web_engine) as session:
        assert allowed_senders(session, world["contoso"]) == set()


def test_a_change_made_meanwhile_by_someone_else_is_not_overwritten(web_app, rita, web_engine, world):
    detection = world["ids"][3]
    rob = Client(web_app)
    rob.sign_in("rob")
    seen_by_rita = version_of(rita.get(f"/detections/{detection}").get_data(as_text=True))
    seen_by_rob = version_of(rob.get(f"/detections/{detection}").get_data(as_text=True))
    assert (
        rob.post(
            f"/detections/{detection}/triage",
            {"status": "resolved", "outcome": "raised_with_vendor", "version": seen_by_rob},
        ).status_code
        == 302
    )
    late = rita.post(f"/detections/{detection}/triage", {"status": "false_positive", "version": seen_by_rita})
    assert late.status_code == 409
    assert "Someone else changed this detection" in late.get_data(as_text=True)
    assert state(web_engine, detection) == ("resolved", "raised_with_vendor")


def test_unknown_status_is_refused(rita, web_engine, world):
    response = rita.post(f"/detections/{world['ids'][0]}/triage", {"status": "deleted"})
    assert response.status_code == 409
    assert state(web_engine, world["ids"][0]) == ("new", "")


def test_viewers_see_the_allow_list_but_cannot_change_it(web_app, rita, world):
    rita.post(f"/detections/{world['ids'][2]}/triage", {"status": "false_positive", "allow": "domain"})
    viewer = Client(web_app)
    viewer.sign_in("vic")
    listing = viewer.get("/allowlist").get_data(as_text=True)
    assert "dell.com" in listing and "/remove" not in listing
    assert viewer.post("/allowlist/1/remove").status_code == 403
