"""Delegated access to customers' mailboxes with msal: device-code sign-in and silent refresh.

One multi-tenant app registration (``[identity] client_id``) serves every customer. A person
at the customer signs in once with the device-code flow; the tenant's msal token cache is
kept, encrypted, in the database, and :class:`TokenProvider` refreshes access tokens from it
for the worker. When the refresh token stops working (consent revoked, password reset, too
long unused, sign-in frequency) the tenant is marked ``needs_reconnect`` and the MSP gets one
tenant-health alert; nothing polls it again until someone signs in again.

With ``OUTREACH_MONITOR_CLIENT_SECRET`` set the app is a confidential client: msal sends the
secret with every token request.

Everything reaches the identity platform through :class:`monitor.http.Session`, so the CA
bundle from ``[identity] ca_bundle`` wins over ``REQUESTS_CA_BUNDLE`` and loopback (the
sandbox) is never proxied. Tokens never appear in logs, errors or reprs.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import msal
import requests
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import select

from monitor.config import CLIENT_SECRET_ENV, Settings, secret
from monitor.crypto import TokenVault, reconnect_command
from monitor.db import session_scope
from monitor.errors import AuthError, ConfigError, GraphError, MailboxUnreadable, ReconnectNeeded
from monitor.http import Session, is_loopback
from monitor.models import Mailbox, Tenant, utcnow

log = logging.getLogger(__name__)

GRAPH_RESOURCE = "https://graph.microsoft.com"
BASE_SCOPES = ("Mail.Read", "User.Read")
SHARED_SCOPE = "Mail.Read.Shared"
NEW_TENANT_AUTHORITY = "organizations"  # any work or school account, before we know the tenant
HTTP_TIMEOUT = (10, 30)  # msal passes no timeout to a custom http_client

# Refresh failures that only a person signing in again can fix.
RECONNECT_ERRORS = frozenset({"invalid_grant", "interaction_required", "consent_required"})
RECONNECT_CODES = frozenset({65001, 50173, 700082, 70043, 50076, 50078, 50079, 53003, 700084})
_AADSTS = re.compile(r"AADSTS(\d+)")


# --- scopes -------------------------------------------------------------------------------
def graph_resource(endpoint: str) -> str:
    """The scope prefix for ``endpoint``: its origin for national clouds, Graph's for loopback."""
    if is_loopback(endpoint):
        return GRAPH_RESOURCE
    parts = urlsplit(endpoint)
    return f"https://{parts.netloc}"


def graph_scopes(settings: Settings, *, shared: bool) -> list[str]:
    """Resource scopes to request; msal adds openid, profile and offline_access itself."""
    names = [*BASE_SCOPES, SHARED_SCOPE] if shared else list(BASE_SCOPES)
    resource = graph_resource(settings.graph.endpoint)
    return [f"{resource}/{name}" for name in names]


# --- msal application ---------------------------------------------------------------------
class IdentitySession(Session):
    """The session msal uses: the project's Session with a default timeout."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return super().request(method, url, *args, **kwargs)


class _ConfidentialDeviceClient(msal.ConfidentialClientApplication):
    """A confidential client that can run the device-code flow (msal offers it only on public
    clients; the protocol is the same, with the secret added to each token request)."""

    DEVICE_FLOW_CORRELATION_ID = msal.PublicClientApplication.DEVICE_FLOW_CORRELATION_ID
    initiate_device_flow = msal.PublicClientApplication.initiate_device_flow
    acquire_token_by_device_flow = msal.PublicClientApplication.acquire_token_by_device_flow


def unreachable_message(authority_host: str, exc: BaseException) -> str:
    if isinstance(exc, requests.exceptions.SSLError):
        return (
            f"cannot verify the TLS certificate of {authority_host}: "
            "set [identity] ca_bundle to the PEM file of the CA that signs it"
        )
    if isinstance(exc, requests.exceptions.Timeout):
        why = "it did not answer in time"
    elif isinstance(exc, requests.exceptions.ConnectionError):
        why = "connection failed"
    else:
        why = exc.__class__.__name__
    return (
        f"cannot reach the identity platform at {authority_host} ({why}): "
        "check [identity] authority_host, the network and any proxy settings"
    )


def build_app(
    settings: Settings,
    *,
    tenant: str = NEW_TENANT_AUTHORITY,
    cache: msal.SerializableTokenCache | None = None,
    environ: dict[str, str] | None = None,
) -> msal.ClientApplication:
    """An msal app for ``tenant`` (a tenant id, or "organizations" for a first sign-in).

    Construction fetches the authority's OpenID configuration, so an unreachable or wrong
    authority is reported here as :class:`AuthError`.
    """
    client_id = settings.identity.client_id.strip()
    if not client_id:
        raise ConfigError("set [identity] client_id to your app registration's Application (client) ID")
    host = settings.identity.authority_host
    ca_bundle = settings.identity.ca_bundle
    if ca_bundle and not Path(ca_bundle).is_file():
        raise ConfigError(f"[identity] ca_bundle: no such file {ca_bundle}")
    options: dict[str, Any] = {
        "authority": f"{host}/{tenant}",
        # Skips the call to login.microsoftonline.com/common/discovery/instance, which national
        # clouds and the sandbox do not need and offline machines cannot make.
        "instance_discovery": False,
        "http_client": IdentitySession(ca_bundle=ca_bundle),
        "token_cache": cache if cache is not None else msal.SerializableTokenCache(),
        "app_name": "outreach-monitor",
    }
    client_secret = secret(CLIENT_SECRET_ENV, environ)
    try:
        if client_secret:
            return _ConfidentialDeviceClient(client_id, client_credential=client_secret, **options)
        return msal.PublicClientApplication(client_id, **options)
    except requests.exceptions.RequestException as exc:
        raise AuthError(unreachable_message(host, exc)) from None
    except msal.exceptions.MsalServiceError as exc:
        raise AuthError(f"the identity platform at {host} failed ({exc.__class__.__name__}): try again later") from None
    except (ValueError, KeyError) as exc:
        # msal raises ValueError for a 4xx discovery answer (unknown tenant) or a non-https URL.
        raise AuthError(
            f"{host} did not serve an OpenID configuration for tenant {tenant!r} ({_first_line(str(exc))}): "
            "check [identity] authority_host"
        ) from None


# --- errors -------------------------------------------------------------------------------
def _first_line(text: str, limit: int = 300) -> str:
    line = text.replace("\r", "\n").split("\n", 1)[0].strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


def error_codes(result: dict[str, Any]) -> set[int]:
    codes = {int(c) for c in result.get("error_codes") or [] if str(c).isdigit()}
    codes.update(int(c) for c in _AADSTS.findall(str(result.get("error_description", ""))))
    return codes


def describe_error(result: dict[str, Any]) -> str:
    """One line for a person: the AADSTS code and message, without trace and correlation ids."""
    description = _first_line(str(result.get("error_description") or ""))
    error = str(result.get("error") or "error")
    if result.get("suberror"):
        error = f"{error}/{result['suberror']}"
    return f"{error}: {description}" if description else error


def is_reconnect_error(result: dict[str, Any]) -> bool:
    """True when only a person signing in again fixes this refresh failure."""
    return (
        result.get("error") in RECONNECT_ERRORS
        or result.get("classification") in RECONNECT_ERRORS
        or bool(error_codes(result) & RECONNECT_CODES)
    )


def _sign_in_error(result: dict[str, Any], client_id: str, timeout_hint: str) -> AuthError:
    error = result.get("error")
    codes = error_codes(result)
    if error == "unauthorized_client" or 700016 in codes:
        return AuthError(
            f"the identity platform does not know the app {client_id!r} (AADSTS700016): set [identity] client_id "
            "to your app registration's Application (client) ID, and make sure the app is multi-tenant and "
            "allows public client flows"
        )
    if error == "invalid_client":
        return AuthError(
            f"the app registration refused the client secret ({describe_error(result)}): "
            f"check {CLIENT_SECRET_ENV}, or unset it to sign in as a public client"
        )
    if error == "authorization_declined" or error == "access_denied":
        return AuthError("sign-in was declined on the device login page: run the command again and accept")
    if error in ("expired_token", "code_expired") or error == "authorization_pending":
        return AuthError(f"nobody signed in before the code expired{timeout_hint}: run the command again")
    if error == "invalid_scope":
        return AuthError(f"the identity platform refused the requested permissions ({describe_error(result)})")
    return AuthError(f"sign-in failed: {describe_error(result)}")


# --- sign-in ------------------------------------------------------------------------------
@dataclass
class SignIn:
    """Who signed in, from the token response; the token itself is kept out of repr."""

    tenant_guid: str
    username: str
    display_name: str
    home_account_id: str
    scopes: list[str]
    cache_state: str = field(repr=False)
    access_token: str = field(repr=False)

    @property
    def domain(self) -> str:
        return self.username.rpartition("@")[2].lower()


class DeviceSignIn:
    """One device-code sign-in: :meth:`start` shows the code, :meth:`wait` blocks until done."""

    def __init__(self, app: msal.ClientApplication, flow: dict[str, Any], scopes: list[str]) -> None:
        self.app = app
        self.flow = flow
        self.scopes = scopes

    @classmethod
    def start(
        cls,
        settings: Settings,
        *,
        tenant: str = NEW_TENANT_AUTHORITY,
        shared: bool = False,
        environ: dict[str, str] | None = None,
    ) -> DeviceSignIn:
        app = build_app(settings, tenant=tenant, environ=environ)
        scopes = graph_scopes(settings, shared=shared)
        host = settings.identity.authority_host
        try:
            flow = app.initiate_device_flow(scopes=scopes)
        except requests.exceptions.RequestException as exc:
            raise AuthError(unreachable_message(host, exc)) from None
        except ValueError:  # no device_authorization_endpoint, or an answer that is not JSON
            raise AuthError(f"{host} does not offer the device-code flow: check [identity] authority_host") from None
        if "user_code" not in flow:
            raise _sign_in_error(flow, settings.identity.client_id, "")
        return cls(app, flow, scopes)

    @property
    def message(self) -> str:
        return str(self.flow.get("message") or f"Open {self.flow.get('verification_uri')} and enter the code {self.user_code}")

    @property
    def user_code(self) -> str:
        return str(self.flow["user_code"])

    @property
    def expires_at(self) -> float:
        return float(self.flow["expires_at"])

    def wait(self, timeout: float | None = None) -> SignIn:
        """Polls until someone signs in; :class:`AuthError` when declined, expired or timed out."""
        hint = ""
        if timeout is not None and time.time() + timeout < self.expires_at:
            # msal stops polling once expires_at has passed.
            self.flow["expires_at"] = time.time() + timeout
            hint = f" (waited {timeout:g} s)"
        try:
            result = self.app.acquire_token_by_device_flow(self.flow)
        except requests.exceptions.RequestException as exc:
            raise AuthError(unreachable_message(self.app.authority.instance, exc)) from None
        except msal.exceptions.MsalServiceError:
            raise AuthError("the identity platform failed while waiting for sign-in: try again later") from None
        if "access_token" not in result:
            raise _sign_in_error(result, self.app.client_id, hint)
        claims = result.get("id_token_claims") or {}
        username = str(claims.get("preferred_username") or claims.get("upn") or "").lower()
        accounts = self.app.get_accounts(username=username) if username else []
        if not accounts or not claims.get("tid"):
            raise AuthError("the identity platform signed someone in but sent no account details (id_token)")
        return SignIn(
            tenant_guid=str(claims["tid"]),
            username=username,
            display_name=str(claims.get("name") or ""),
            home_account_id=accounts[0]["home_account_id"],
            scopes=self.scopes,
            cache_state=self.app.token_cache.serialize(),
            access_token=result["access_token"],
        )


# --- Graph probe --------------------------------------------------------------------------
def graph_error(response: requests.Response) -> tuple[str, str]:
    """(code, message) from Graph's OData error envelope, or ("", "") when there is none."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return "", ""
    if not isinstance(error, dict):
        return str(error), ""
    return str(error.get("code") or ""), _first_line(str(error.get("message") or ""), 200)


def probe_mailbox(session: requests.Session, endpoint: str, token: str, address: str | None = None) -> None:
    """One Graph call showing the mailbox can be read (its inbox id), else :class:`MailboxUnreadable`.

    ``address`` None means the signed-in user's own mailbox (``/me``).
    """
    path = "/me" if address is None else f"/users/{quote(address, safe='@')}"
    who = address or "the signed-in user's mailbox"
    try:
        response = session.get(
            f"{endpoint.rstrip('/')}{path}/mailFolders/inbox?$select=id",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=HTTP_TIMEOUT,
        )
    except requests.exceptions.RequestException as exc:
        raise GraphError(f"cannot reach Microsoft Graph at {endpoint} ({exc.__class__.__name__})") from None
    status = response.status_code
    if status == 200:
        return
    code, message = graph_error(response)
    named = f"{status} {code}".strip()
    if status == 403:
        why = "the mailbox is not shared with the signed-in user, or the consent lacks Mail.Read.Shared"
    elif status == 404 and code == "MailboxNotEnabledForRESTAPI":
        why = "it has no Exchange Online mailbox (unlicensed, inactive or on-premises)"
    elif status == 404:
        why = "no such mailbox"
    elif status == 401:
        raise GraphError(f"Microsoft Graph refused the access token ({named}): {message}", status=status, code=code)
    else:
        raise GraphError(f"Microsoft Graph failed reading {who} ({named}): try again later", status=status, code=code)
    raise MailboxUnreadable(f"{who} cannot be read ({named}): {why}", status=status, code=code)


# --- silent refresh for the worker --------------------------------------------------------
@dataclass
class _TenantState:
    id: int
    name: str
    status: str
    status_reason: str
    tenant_guid: str
    home_account_id: str
    blob: bytes | None
    shared: bool
    last_error: str


def health_payload(name: str, event: str, reason: str) -> dict[str, str]:
    return {"tenant": name, "event": event, "reason": reason, "command": reconnect_command(name)}


def enqueue_health(session: Any, tenant_id: int, name: str, event: str, reason: str) -> None:
    from alerts.outbox import enqueue  # alerts builds on monitor; import late to keep layers acyclic

    enqueue(
        session,
        kind="tenant_health",
        tenant_id=tenant_id,
        payload=health_payload(name, event, reason),
        group_key=f"tenant-health:{tenant_id}",
    )


class TokenProvider:
    """Access tokens for the worker, refreshed silently from each tenant's stored token cache.

    Thread-safe: one refresh per tenant at a time. The cache is written back only when msal
    changed it, and only if nobody (a reconnect) replaced it meanwhile.
    """

    def __init__(self, settings: Settings, engine: Engine, *, environ: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self._environ = environ
        self._vault: TokenVault | None = None
        self._apps: dict[tuple[int, str], tuple[msal.ClientApplication, msal.SerializableTokenCache]] = {}
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()

    def access_token(self, tenant_id: int, *, force_refresh: bool = False) -> str:
        """A Graph access token for the tenant; :class:`ReconnectNeeded` when someone must sign in
        again (raised once with an alert, then without), :class:`AuthError` for passing trouble."""
        with self._lock(tenant_id):
            state = self._load(tenant_id)
            fix = reconnect_command(state.name)
            if state.status == "needs_reconnect":
                raise ReconnectNeeded(f"tenant {state.name!r} needs to sign in again ({state.status_reason}): run `{fix}`")
            if state.status in ("pending", "disconnected") or not state.blob:
                raise ReconnectNeeded(f"tenant {state.name!r} is not connected: run `{fix}`")
            return self._acquire(state, force_refresh=force_refresh)

    def recheck(self, tenant_id: int) -> str:
        """Refreshes even a tenant marked ``needs_reconnect`` (e.g. after restoring the key); on
        success the tenant is active again, with one "reconnected" alert if it had been marked."""
        with self._lock(tenant_id):
            state = self._load(tenant_id)
            if not state.blob:
                raise ReconnectNeeded(f"tenant {state.name!r} is not connected: run `{reconnect_command(state.name)}`")
            token = self._acquire(state, force_refresh=state.status == "needs_reconnect")
            with session_scope(self.engine) as session:
                changed = session.exec(  # type: ignore[call-overload]
                    update(Tenant)
                    .where(Tenant.id == tenant_id, Tenant.status != "active")  # type: ignore[arg-type]
                    .values(status="active", status_reason="")
                )
                if changed.rowcount and state.status == "needs_reconnect":
                    enqueue_health(session, tenant_id, state.name, "reconnected", "the stored sign-in works again")
            return token

    def token_for(self, tenant_id: int, *, shared: bool) -> str:
        """A token for checking mailboxes about to be added, with or without Mail.Read.Shared.
        A consent refusal for the extra scope marks nothing: the tenant's own mailboxes may be fine."""
        with self._lock(tenant_id):
            state = self._load(tenant_id)
            if not state.blob or state.status not in ("active", "paused"):
                raise ReconnectNeeded(f"tenant {state.name!r} is not connected: run `{reconnect_command(state.name)}`")
            return self._acquire(state, force_refresh=False, shared=shared)

    # --- internals ----------------------------------------------------------------------
    def _lock(self, tenant_id: int) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(tenant_id, threading.Lock())

    def _load(self, tenant_id: int) -> _TenantState:
        with session_scope(self.engine) as session:
            tenant = session.get(Tenant, tenant_id)
            if tenant is None:
                raise AuthError(f"no tenant with id {tenant_id}")
            shared = session.exec(
                select(Mailbox.id).where(Mailbox.tenant_id == tenant_id, Mailbox.shared, Mailbox.enabled).limit(1)
            ).first()
            return _TenantState(
                id=tenant_id,
                name=tenant.name,
                status=tenant.status,
                status_reason=tenant.status_reason,
                tenant_guid=tenant.tenant_guid,
                home_account_id=tenant.home_account_id,
                blob=tenant.token_cache,
                shared=shared is not None,
                last_error=tenant.last_error,
            )

    def vault(self) -> TokenVault:
        if self._vault is not None:
            return self._vault
        vault = TokenVault.from_settings(self.settings, environ=self._environ)
        if vault.has_key:  # no key yet: look again next time (`connect` may be creating it)
            self._vault = vault
        return vault

    def _app(self, state: _TenantState) -> tuple[msal.ClientApplication, msal.SerializableTokenCache]:
        key = (state.id, state.tenant_guid)
        if key not in self._apps:
            cache = msal.SerializableTokenCache()
            app = build_app(self.settings, tenant=state.tenant_guid or NEW_TENANT_AUTHORITY, cache=cache, environ=self._environ)
            self._apps[key] = (app, cache)
        return self._apps[key]

    def _acquire(self, state: _TenantState, *, force_refresh: bool, shared: bool | None = None) -> str:
        assert state.blob is not None
        # Asking for more than the tenant's usual scopes (a shared mailbox being added) may be
        # refused for want of consent while the tenant's own polling is fine: never mark then.
        beyond = bool(shared) and not state.shared
        try:
            text = self.vault().decrypt(state.blob, tenant=state.name)
        except ReconnectNeeded:
            self._mark(state, "token cache cannot be decrypted with this key")
            raise
        try:
            app, cache = self._app(state)
        except AuthError as exc:
            self._note_error(state, str(exc))
            raise
        try:
            cache.deserialize(text)
        except (ValueError, TypeError):
            self._mark(state, "token cache is damaged")
            raise ReconnectNeeded(
                f"tenant {state.name!r}: token cache is damaged: reconnect with `{reconnect_command(state.name)}`"
            ) from None
        accounts = app.get_accounts()
        account = next((a for a in accounts if a.get("home_account_id") == state.home_account_id), None)
        if account is None and accounts:
            account = accounts[0]
        if account is None:
            self._mark(state, "no signed-in account in the token cache")
            raise ReconnectNeeded(
                f"tenant {state.name!r}: no signed-in account in the token cache: reconnect with "
                f"`{reconnect_command(state.name)}`"
            )
        scopes = graph_scopes(self.settings, shared=state.shared if shared is None else shared)
        try:
            result = app.acquire_token_silent_with_error(scopes, account, force_refresh=force_refresh)
        except requests.exceptions.RequestException as exc:
            message = f"tenant {state.name!r}: {unreachable_message(self.settings.identity.authority_host, exc)}"
            self._note_error(state, message)
            raise AuthError(message) from None
        except msal.exceptions.MsalServiceError:
            message = f"tenant {state.name!r}: the identity platform failed refreshing the token; will retry"
            self._note_error(state, message)
            raise AuthError(message) from None
        if result is None:
            self._mark(state, "no refresh token in the token cache")
            raise ReconnectNeeded(
                f"tenant {state.name!r}: no refresh token in the token cache: reconnect with "
                f"`{reconnect_command(state.name)}`"
            )
        if "error" in result:
            reason = describe_error(result)
            if is_reconnect_error(result) and beyond:
                raise ReconnectNeeded(
                    f"the sign-in of {state.name!r} does not cover shared mailboxes ({reason}): run "
                    f"`{reconnect_command(state.name)} --mailbox ADDRESS` to consent to Mail.Read.Shared"
                )
            if is_reconnect_error(result):
                self._mark(state, reason)
                raise ReconnectNeeded(
                    f"tenant {state.name!r} needs to sign in again ({reason}): run `{reconnect_command(state.name)}`"
                )
            message = f"tenant {state.name!r}: token refresh failed: {reason}"
            self._note_error(state, message)
            raise AuthError(message)
        if cache.has_state_changed:
            self._store(state, cache.serialize())
        elif state.last_error:
            self._note_error(state, "")
        return str(result["access_token"])

    def _store(self, state: _TenantState, cache_text: str) -> None:
        blob = self.vault().encrypt(cache_text)
        with session_scope(self.engine) as session:
            # Only over the cache we read: a reconnect that stored a newer one wins.
            session.exec(  # type: ignore[call-overload]
                update(Tenant)
                .where(Tenant.id == state.id, Tenant.token_cache == state.blob)  # type: ignore[arg-type]
                .values(token_cache=blob, last_error="", last_error_at=None)
            )

    def _note_error(self, state: _TenantState, message: str) -> None:
        with session_scope(self.engine) as session:
            session.exec(  # type: ignore[call-overload]
                update(Tenant)
                .where(Tenant.id == state.id)  # type: ignore[arg-type]
                .values(last_error=message, last_error_at=utcnow() if message else None)
            )
        if message:
            log.warning("%s", message)

    def _mark(self, state: _TenantState, reason: str) -> None:
        """needs_reconnect plus one alert, in one transaction; a no-op when already marked or
        when a reconnect replaced the cache this failure came from."""
        with session_scope(self.engine) as session:
            changed = session.exec(  # type: ignore[call-overload]
                update(Tenant)
                .where(
                    Tenant.id == state.id,  # type: ignore[arg-type]
                    Tenant.status != "needs_reconnect",  # type: ignore[arg-type]
                    Tenant.token_cache == state.blob,  # type: ignore[arg-type]
                )
                .values(status="needs_reconnect", status_reason=reason, last_error=reason, last_error_at=utcnow())
            )
            if changed.rowcount:
                enqueue_health(session, state.id, state.name, "needs_reconnect", reason)
        log.warning("tenant %r needs to sign in again: %s", state.name, reason)


def token_summary(state: str) -> dict[str, Any]:
    """What a token cache holds, without any secret: accounts and granted scopes."""
    try:
        data = json.loads(state)
    except ValueError:
        return {"accounts": [], "scopes": [], "refresh_tokens": 0}
    accounts = sorted({a.get("username", "") for a in (data.get("Account") or {}).values()})
    scopes = sorted({s for t in (data.get("AccessToken") or {}).values() for s in str(t.get("target", "")).split()})
    return {"accounts": accounts, "scopes": scopes, "refresh_tokens": len(data.get("RefreshToken") or {})}
