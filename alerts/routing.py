"""Which Slack channel an alert goes to.

Tenant-health alerts go to ``[slack] health_channel`` when set; impersonation is a security
matter and goes to ``[slack] security_channel`` when set; everything else to the tenant's own
channel (``Tenant.slack_channel``), else ``[slack] default_channel``. "" means nowhere: the
Slack sink dead-letters such an alert with an error that says what to set.
"""

from __future__ import annotations

from typing import Any

from monitor.config import Settings
from monitor.models import Alert, Tenant


def channel_for(alert: Alert, payload: dict[str, Any], tenant: Tenant | None, settings: Settings) -> str:
    slack = settings.slack
    own = (tenant.slack_channel if tenant else "").strip()
    if alert.kind == "tenant_health":
        return slack.health_channel or own or slack.default_channel
    if payload.get("label") == "impersonation" and slack.security_channel:
        return slack.security_channel
    return own or slack.default_channel
