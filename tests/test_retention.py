"""The daily clean-up: old history goes, what still waits for Slack stays."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from monitor.db import session_scope
from monitor.models import Alert, Detection, Mailbox, Silence, SlackPost, utcnow
from monitor.retention import clean_up


def test_clean_up_deletes_old_history_but_never_what_waits_for_delivery(worker_db) -> None:  # type: ignore[no-untyped-def]
    settings, engine = worker_db
    now = utcnow()
    old, recent = now - timedelta(days=400), now - timedelta(days=3)
    with session_scope(engine) as session:
        box = session.exec(select(Mailbox)).first()
        assert box is not None
        post = SlackPost(kind="campaign", channel="C1", ts="1.1", created_at=old)
        session.add(post)
        session.flush()
        rows = {}
        for key, created, state in [
            ("old-sent", old, "sent"),
            ("old-pending", old, "pending"),
            ("new", recent, "sent"),
        ]:
            detection = Detection(
                tenant_id=box.tenant_id,
                mailbox_id=box.id or 0,
                internet_message_id=f"<{key}>",
                label="vendor_outreach",
                created_at=created,
            )
            session.add(detection)
            session.flush()
            session.add(
                Alert(
                    detection_id=detection.id,
                    tenant_id=box.tenant_id,
                    state=state,
                    created_at=created,
                    post_id=post.id if key == "old-sent" else None,
                )
            )
            rows[key] = detection.id
        session.add(Alert(kind="tenant_health", tenant_id=box.tenant_id, state="sent", created_at=old))
        session.add(Silence(reason="x", expires_at=old))
    counts = clean_up(engine, settings.worker.retention_days, now)
    assert counts["detections"] == 1 and counts["alerts"] == 2 and counts["slack_posts"] == 1
    assert counts["silences"] == 1
    with Session(engine) as session:
        kept = {d.internet_message_id for d in session.exec(select(Detection)).all()}
        assert kept == {"<old-pending>", "<new>"}
        assert {a.state for a in session.exec(select(Alert)).all()} == {"pending", "sent"}
