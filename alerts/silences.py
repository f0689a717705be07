"""Silences: a matcher (tenant, sender address or domain, vendor), a reason and an expiry.

A silence matches a detection alert when every field it sets matches (case-insensitive); a
sender domain also matches its subdomains. Silenced alerts are kept with state ``silenced`` and
logged, never posted (see :mod:`alerts.outbox`). Expiry is required and capped at
:data:`MAX_DURATION`, so nothing stays muted by accident.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from monitor.errors import InputError
from monitor.models import Silence

MAX_DURATION = timedelta(days=90)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)\s*$", re.I)
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> tuple[timedelta, bool]:
    """"7d", "12h", "30m", "2w" -> (duration, capped). Longer than 90 days is capped to 90 days."""
    match = _DURATION.match(text or "")
    if not match:
        raise InputError(f"--expires {text!r}: expected a number and a unit, like 30m, 12h, 7d or 2w")
    seconds = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if seconds <= 0:
        raise InputError(f"--expires {text!r}: must be longer than zero")
    if seconds > MAX_DURATION.total_seconds():  # before timedelta(): "99999999999999w" overflows it
        return MAX_DURATION, True
    return timedelta(seconds=seconds), False


def _sender(value: str) -> str:
    return value.strip().strip("<>").lower().lstrip("@")


def add_silence(session: Session, *, tenant: str = "", sender: str = "", vendor: str = "", reason: str,
                duration: timedelta, now: datetime, created_by: str = "") -> Silence:
    tenant, sender, vendor, reason = tenant.strip(), _sender(sender), vendor.strip(), reason.strip()
    if not (tenant or sender or vendor):
        raise InputError("a silence needs at least one of --tenant, --sender or --vendor")
    if not reason:
        raise InputError("a silence needs a --reason (it is shown with every alert it mutes)")
    if sender and (sender.count("@") > 1 or any(c.isspace() for c in sender) or sender.endswith("@")):
        raise InputError(f"--sender {sender!r}: expected an address (name@example.com) or a domain")
    silence = Silence(tenant=tenant, sender=sender, vendor=vendor, reason=reason, created_by=created_by,
                      created_at=now, expires_at=now + min(duration, MAX_DURATION))
    session.add(silence)
    return silence


def active_silences(session: Session, now: datetime) -> list[Silence]:
    return list(session.exec(
        select(Silence).where(col(Silence.removed_at).is_(None), Silence.expires_at > now).order_by(col(Silence.id))
    ).all())


def remove_silence(session: Session, silence_id: int, now: datetime) -> Silence:
    silence = session.get(Silence, silence_id)
    if silence is None or silence.removed_at is not None:
        raise InputError(f"no silence #{silence_id} (see `outreach-monitor silences list --all`)")
    silence.removed_at = now
    session.add(silence)
    return silence


def matches(silence: Silence, payload: dict[str, Any]) -> bool:
    def text(key: str) -> str:
        value = payload.get(key)
        return value.strip().lower() if isinstance(value, str) else ""

    if silence.tenant and silence.tenant.lower() != text("tenant"):
        return False
    if silence.vendor and silence.vendor.lower() != text("vendor"):
        return False
    if silence.sender:
        address = _sender(text("sender_address"))
        if "@" in silence.sender:
            return address == silence.sender
        domain = address.rpartition("@")[2]
        return bool(domain) and (domain == silence.sender or domain.endswith("." + silence.sender))
    return True


def matching_silence(silences: list[Silence], payload: dict[str, Any]) -> Silence | None:
    return next((s for s in silences if matches(s, payload)), None)
