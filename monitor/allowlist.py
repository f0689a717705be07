"""Per-customer sender allow-list, filled by reviewers marking detections false positives.

The scanner passes :func:`allowed_senders` (together with the global ``[detection]
allow_senders``) into the detectors' ``Context.allow_senders``, so a sender a reviewer cleared
is not flagged again for that customer. Entries are lower-case addresses or domains; a domain
also covers its subdomains (the detectors compare registrable domains).
"""

from __future__ import annotations

import re

from sqlmodel import Session, select

from monitor.models import AllowedSender

_ADDRESS = re.compile(r"^[^@\s<>\"',;]+@([a-z0-9-]+\.)+[a-z0-9-]+$")
_DOMAIN = re.compile(r"^([a-z0-9-]+\.)+[a-z0-9-]+$")


def allowed_senders(session: Session, tenant_id: int) -> set[str]:
    """The addresses and domains allow-listed for this customer."""
    return set(session.exec(select(AllowedSender.value).where(AllowedSender.tenant_id == tenant_id)).all())


def normalise_sender(value: str) -> str:
    """A lower-case address or domain, or "" when ``value`` is neither."""
    text = value.strip().lower().removeprefix("mailto:").lstrip("@").rstrip(".")
    if len(text) > 320:
        return ""
    return text if _ADDRESS.match(text) or _DOMAIN.match(text) else ""
