"""The sandbox's shared world: tenants, users, who may read which mailbox, and the access
tokens the identity sandbox issues and the Graph sandbox checks.

Both simulators hold a reference to one :class:`Directory`, so a token issued by the
identity provider is accepted by Graph, and revoking a user's consent is seen by both.
Access tokens are self-contained (HMAC-signed JSON, in the shape of a JWT) so that a
Graph sandbox in another process can check them with the same signing key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SandboxUser:
    upn: str  # user principal name == primary SMTP address
    display_name: str
    tenant_id: str
    object_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # Mailboxes (by upn) shared with this user: readable with Mail.Read.Shared.
    can_read: set[str] = field(default_factory=set)
    consent_revoked: bool = False
    mail_enabled: bool = True  # False: Graph answers 404 MailboxNotEnabledForRESTAPI


@dataclass
class SandboxTenant:
    tenant_id: str
    name: str
    domains: list[str]


class Directory:
    """Thread-safe registry of sandbox tenants and users, and the token signer."""

    def __init__(self, signing_key: bytes | None = None) -> None:
        self.signing_key = signing_key or secrets.token_bytes(32)
        self.tenants: dict[str, SandboxTenant] = {}
        self.users: dict[str, SandboxUser] = {}  # by lower-case upn
        self.lock = threading.RLock()

    # --- tenants and users -------------------------------------------------------------
    def add_tenant(self, name: str, domain: str, tenant_id: str | None = None) -> SandboxTenant:
        with self.lock:
            tenant = SandboxTenant(tenant_id or str(uuid.uuid4()), name, [domain.lower()])
            self.tenants[tenant.tenant_id] = tenant
            return tenant

    def add_user(self, tenant: SandboxTenant, upn: str, display_name: str = "") -> SandboxUser:
        with self.lock:
            user = SandboxUser(upn.lower(), display_name or upn.split("@")[0], tenant.tenant_id)
            self.users[user.upn] = user
            return user

    def share(self, mailbox_upn: str, with_user_upn: str) -> None:
        with self.lock:
            self.users[with_user_upn.lower()].can_read.add(mailbox_upn.lower())

    def user(self, key: str) -> SandboxUser | None:
        """A user by upn or object id."""
        with self.lock:
            found = self.users.get(key.lower())
            if found:
                return found
            return next((u for u in self.users.values() if u.object_id == key), None)

    def may_read(self, reader: SandboxUser, mailbox: SandboxUser) -> bool:
        return reader.upn == mailbox.upn or mailbox.upn in reader.can_read

    # --- access tokens -----------------------------------------------------------------
    def issue_access_token(self, user: SandboxUser, scopes: list[str], lifetime: int = 3600) -> str:
        now = int(time.time())
        claims = {
            "aud": "https://graph.microsoft.com",
            "tid": user.tenant_id,
            "oid": user.object_id,
            "upn": user.upn,
            "scp": " ".join(scopes),
            "iat": now,
            "exp": now + lifetime,
            "jti": secrets.token_hex(8),
        }
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        sig = _b64(hmac.new(self.signing_key, f"{header}.{body}".encode(), hashlib.sha256).digest())
        return f"{header}.{body}.{sig}"

    def check_access_token(self, token: str) -> tuple[SandboxUser | None, str]:
        """The token's user, or (None, reason) when it is malformed, forged, expired or revoked."""
        try:
            header, body, sig = token.split(".")
            expected = _b64(hmac.new(self.signing_key, f"{header}.{body}".encode(), hashlib.sha256).digest())
            if not hmac.compare_digest(sig, expected):
                return None, "Access token validation failure. Invalid signature."
            claims: dict[str, Any] = json.loads(_unb64(body))
        except (ValueError, json.JSONDecodeError):
            return None, "CompactToken parsing failed with error code: 80049217"
        if int(claims.get("exp", 0)) <= time.time():
            return None, "Access token has expired or is not yet valid."
        user = self.user(str(claims.get("upn", "")))
        if user is None or user.consent_revoked:
            return None, "Access token validation failure."
        return user, ""
