"""Triage: a reviewer moves a detection along (new → acknowledged → resolved with an outcome, or
false positive), adds notes, and may allow-list the sender for that customer. Every change is
an audit row (:class:`~monitor.models.TriageEvent`) written in the same transaction.

A change names the version it was made against (the detection's ``updated_at``); when someone
else changed the detection in between, nothing is saved and the reviewer is told, rather than
one person's decision silently replacing another's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from monitor.allowlist import normalise_sender
from monitor.models import AllowedSender, Detection, TriageEvent, utcnow
from monitor.web.queries import OUTCOMES, STATUSES, sender_candidates

MAX_NOTE = 4000


class TriageError(Exception):
    """The change cannot be made; the message says why, for the reviewer."""


def version(detection: Detection) -> str:
    return detection.updated_at.isoformat() if detection.updated_at else ""


@dataclass(frozen=True)
class Change:
    status: str
    outcome: str = ""
    note: str = ""
    allow: str = ""  # "", "address" or "domain": allow-list the sender (false positives only)
    expected: str = ""  # the version the reviewer saw


def apply(session: Session, detection: Detection, change: Change, username: str,
          now: datetime | None = None) -> list[TriageEvent]:
    """Apply ``change`` to ``detection`` and record it; raises TriageError when it cannot be."""
    now = now or utcnow()
    if change.expected and change.expected != version(detection):
        raise TriageError(
            "Someone else changed this detection while you were looking at it; nothing was saved. "
            "Its current state and history are shown below."
        )
    if change.status not in STATUSES:
        raise TriageError("Choose a status.")
    outcome = change.outcome if change.status == "resolved" else ""
    if change.status == "resolved" and outcome not in OUTCOMES:
        raise TriageError("Choose an outcome to resolve a detection.")
    note = change.note.strip()
    if len(note) > MAX_NOTE:
        raise TriageError(f"A note has at most {MAX_NOTE} characters.")
    if change.allow and change.status != "false_positive":
        raise TriageError("Only a false positive can allow-list its sender.")

    events: list[TriageEvent] = []
    moved = (change.status, outcome) != (detection.status, detection.outcome)
    if moved:
        events.append(TriageEvent(
            detection_id=detection.id, tenant_id=detection.tenant_id, username=username, at=now, action="status",
            from_status=detection.status, to_status=change.status, outcome=outcome, note=note,
        ))
        detection.status, detection.outcome = change.status, outcome
    elif note:
        events.append(TriageEvent(
            detection_id=detection.id, tenant_id=detection.tenant_id, username=username, at=now, action="note",
            from_status=detection.status, to_status=detection.status, note=note,
        ))
    if change.allow:
        value = _allow_value(detection, change.allow)
        if _allow(session, detection, value, username, now):
            events.append(TriageEvent(
                detection_id=detection.id, tenant_id=detection.tenant_id, username=username, at=now,
                action="allow", sender=value,
            ))
    if not events:
        raise TriageError("Nothing changed: choose another status, write a note or allow-list the sender.")
    detection.updated_at = now
    session.add(detection)
    for event in events:
        session.add(event)
    session.flush()
    return events


def _allow_value(detection: Detection, kind: str) -> str:
    candidates = sender_candidates(detection.sender_address)
    if kind not in ("address", "domain") or not candidates:
        raise TriageError("This detection has no sender address to allow-list.")
    value = normalise_sender(candidates[0] if kind == "address" else candidates[1])
    if not value:
        raise TriageError("The sender's address cannot be allow-listed (it is not a valid address).")
    return value


def _allow(session: Session, detection: Detection, value: str, username: str, now: datetime) -> bool:
    """Add the allow-list entry; False when the customer already has it."""
    exists = session.exec(
        select(AllowedSender).where(AllowedSender.tenant_id == detection.tenant_id, AllowedSender.value == value)
    ).first()
    if exists is not None:
        return False
    try:
        with session.begin_nested():
            session.add(AllowedSender(tenant_id=detection.tenant_id, value=value, detection_id=detection.id,
                                      created_by=username, created_at=now))
    except IntegrityError:
        return False  # added by someone else a moment ago: the outcome is the same
    return True


def remove_allowed(session: Session, entry: AllowedSender, username: str, now: datetime | None = None) -> TriageEvent:
    """Take a sender off a customer's allow-list, and record it."""
    event = TriageEvent(
        detection_id=entry.detection_id, tenant_id=entry.tenant_id, username=username, at=now or utcnow(),
        action="unallow", sender=entry.value,
    )
    session.delete(entry)
    session.add(event)
    session.flush()
    return event
