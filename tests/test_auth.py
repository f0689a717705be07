"""monitor.auth with the real msal against the sandbox identity provider (TLS on loopback)."""

from __future__ import annotations

import json
import logging
import threading
import time

import pytest
import requests
from conftest import FRONTDESK, OWNER, PRIVATE
from cryptography.fernet import Fernet
from sqlmodel import select

from monitor.auth import DeviceSignIn, TokenProvider, build_app, graph_scopes, probe_mailbox
from monitor.config import Settings, load_settings
from monitor.crypto import TokenVault
from monitor.db import make_engine, session_scope
from monitor.errors import AuthError, ConfigError, GraphError, MailboxUnreadable, ReconnectNeeded
from monitor.http import Session
from monitor.models import Alert, Tenant
from monitor.sandbox.identity import IdentitySandbox


@pytest.fixture
def settings(make_settings) -> Settings:  # type: ignore[no-untyped-def]
    return load_settings(make_settings())


@pytest.fixture
def engine(settings):  # type: ignore[no-untyped-def]
    return make_engine(settings.database_url)


def connect_tenant(settings: Settings, engine, name: str = "Contoso Dental") -> int:  # type: ignore[no-untyped-def]
    """What `connect` stores, without the command line around it."""
    result = DeviceSignIn.start(settings).wait(timeout=10)
    with session_scope(engine) as session:
        tenant = Tenant(
            name=name,
            tenant_guid=result.tenant_guid,
            username=result.username,
            home_account_id=result.home_account_id,
            token_cache=TokenVault.from_settings(settings, create=True).encrypt(result.cache_state),
            status="active",
        )
        session.add(tenant)
        session.flush()
        return tenant.id or 0


def tenant_row(engine, tenant_id: int) -> Tenant:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        return session.get(Tenant, tenant_id)


def health_alerts(engine) -> list[dict]:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        rows = session.exec(select(Alert).where(Alert.kind == "tenant_health").order_by(Alert.id)).all()
        return [json.loads(a.payload) | {"group_key": a.group_key, "tenant_id": a.tenant_id} for a in rows]


# --- configuration and reaching the authority -----------------------------------------------
def test_scopes_are_graph_resource_scopes_for_the_configured_cloud() -> None:
    assert graph_scopes(Settings(), shared=False) == [
        "https://graph.microsoft.com/Mail.Read",
        "https://graph.microsoft.com/User.Read",
    ]
    us = Settings.model_validate({"graph": {"endpoint": "https://graph.microsoft.us/v1.0"}})
    assert graph_scopes(us, shared=True)[-1] == "https://graph.microsoft.us/Mail.Read.Shared"
    loopback = Settings.model_validate({"graph": {"endpoint": "http://127.0.0.1:9999/v1.0"}})
    assert graph_scopes(loopback, shared=False)[0] == "https://graph.microsoft.com/Mail.Read"


def test_missing_client_id_says_what_to_set(make_settings) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(make_settings(client_id=""))
    with pytest.raises(
        ConfigError, match=r"set \[identity\] client_id to your app registration's Application \(client\) ID"
    ):
        build_app(settings)


def test_unreachable_authority_is_one_clear_error(make_settings) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(make_settings(authority_host="https://127.0.0.1:1"))
    with pytest.raises(
        AuthError, match=r"cannot reach the identity platform at https://127\.0\.0\.1:1 \(connection failed\)"
    ):
        DeviceSignIn.start(settings)


def test_untrusted_certificate_points_at_ca_bundle(make_settings) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(make_settings(ca_bundle=""))
    with pytest.raises(AuthError, match=r"cannot verify the TLS certificate .* set \[identity\] ca_bundle"):
        DeviceSignIn.start(settings)


def test_unknown_client_id_is_explained(make_settings) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(make_settings(client_id="11111111-2222-3333-4444-555555555555"))
    with pytest.raises(AuthError) as caught:
        DeviceSignIn.start(settings)
    message = str(caught.value)
    assert "does not know the app '11111111-2222-3333-4444-555555555555' (AADSTS700016)" in message
    assert "Trace ID" not in message and "\n" not in message


# --- device-code sign-in -------------------------------------------------------------------
def test_device_sign_in_shows_the_code_and_reports_who_signed_in(settings, directory) -> None:  # type: ignore[no-untyped-def]
    sign_in = DeviceSignIn.start(settings)
    assert sign_in.message.startswith("To sign in, use a web browser to open the page https://127.0.0.1:")
    assert sign_in.user_code in sign_in.message
    result = sign_in.wait(timeout=10)
    owner = directory.user(OWNER)
    assert (result.tenant_guid, result.username, result.display_name) == (
        owner.tenant_id,
        OWNER,
        "Olivia Owner",
    )
    assert result.home_account_id == f"{owner.object_id}.{owner.tenant_id}"
    assert result.access_token not in repr(result) and "cache_state" not in repr(result)


def test_declined_sign_in(settings, identity_sandbox) -> None:  # type: ignore[no-untyped-def]
    identity_sandbox.auto_approve, identity_sandbox.interval = None, 1
    sign_in = DeviceSignIn.start(settings)
    threading.Timer(0.2, identity_sandbox.decline, args=(sign_in.user_code,)).start()
    with pytest.raises(
        AuthError, match="sign-in was declined on the device login page: run the command again"
    ):
        sign_in.wait(timeout=10)


def test_nobody_signs_in_before_the_timeout(settings, identity_sandbox) -> None:  # type: ignore[no-untyped-def]
    identity_sandbox.auto_approve, identity_sandbox.interval = None, 1
    started = time.monotonic()
    with pytest.raises(
        AuthError, match=r"nobody signed in before the code expired \(waited 1 s\): run the command again"
    ):
        DeviceSignIn.start(settings).wait(timeout=1)
    assert time.monotonic() - started < 4


def test_confidential_client_sends_the_secret_from_the_environment(make_settings, directory) -> None:  # type: ignore[no-untyped-def]
    with IdentitySandbox(directory, auto_approve=OWNER, client_secrets={"conf-app": "s3cret"}) as idp:
        settings = load_settings(
            make_settings(client_id="conf-app", authority_host=idp.authority_host, ca_bundle=idp.ca_file)
        )
        result = DeviceSignIn.start(settings, environ={"OUTREACH_MONITOR_CLIENT_SECRET": "s3cret"}).wait(
            timeout=10
        )
        assert result.username == OWNER
        with pytest.raises(
            AuthError,
            match="refused the client secret .*AADSTS7000215.* check OUTREACH_MONITOR_CLIENT_SECRET",
        ):
            DeviceSignIn.start(settings, environ={"OUTREACH_MONITOR_CLIENT_SECRET": "guess"}).wait(timeout=10)


# --- silent refresh for the worker ---------------------------------------------------------
def test_silent_refresh_from_cache_and_written_back_only_when_changed(
    settings, engine, identity_sandbox, directory
) -> None:  # type: ignore[no-untyped-def]
    tenant_id = connect_tenant(settings, engine)
    provider = TokenProvider(settings, engine)
    first = provider.access_token(tenant_id)
    assert directory.check_access_token(first)[0].upn == OWNER
    refreshes, blob = identity_sandbox.requests["refresh_token"], tenant_row(engine, tenant_id).token_cache

    assert provider.access_token(tenant_id) == first  # from msal's cache
    assert TokenProvider(settings, engine).access_token(tenant_id) == first  # another process: same
    assert identity_sandbox.requests["refresh_token"] == refreshes
    assert tenant_row(engine, tenant_id).token_cache == blob  # nothing changed, nothing written

    forced = provider.access_token(tenant_id, force_refresh=True)
    assert forced != first and directory.check_access_token(forced)[0].upn == OWNER
    assert identity_sandbox.requests["refresh_token"] == refreshes + 1
    assert tenant_row(engine, tenant_id).token_cache != blob
    assert health_alerts(engine) == []


def test_consent_revoked_marks_needs_reconnect_with_exactly_one_alert(
    settings, engine, identity_sandbox, caplog
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    tenant_id = connect_tenant(settings, engine)
    provider = TokenProvider(settings, engine)
    token = provider.access_token(tenant_id)
    identity_sandbox.revoke_consent(OWNER)

    with pytest.raises(ReconnectNeeded) as caught:
        provider.access_token(tenant_id, force_refresh=True)
    assert "outreach-monitor connect --tenant 'Contoso Dental'" in str(caught.value)
    tenant = tenant_row(engine, tenant_id)
    assert tenant.status == "needs_reconnect"
    assert tenant.status_reason.startswith(
        "invalid_grant/consent_required: AADSTS65001: The user or administrator has not consented"
    )
    assert "Trace ID" not in tenant.status_reason

    calls = identity_sandbox.requests["refresh_token"]
    for again in (provider, TokenProvider(settings, engine)):  # this worker, and a restarted one
        with pytest.raises(ReconnectNeeded, match="needs to sign in again"):
            again.access_token(tenant_id)
    assert identity_sandbox.requests["refresh_token"] == calls  # no more polling of the IdP
    assert health_alerts(engine) == [
        {
            "tenant": "Contoso Dental",
            "event": "needs_reconnect",
            "reason": tenant.status_reason,
            "command": "outreach-monitor connect --tenant 'Contoso Dental'",
            "group_key": f"tenant-health:{tenant_id}",
            "tenant_id": tenant_id,
        }
    ]
    # Nothing secret leaked: not in logs, not in the error, not in the database in clear.
    cache = json.loads(TokenVault.from_settings(settings).decrypt(tenant.token_cache, tenant="x"))
    refresh_token = next(iter(cache["RefreshToken"].values()))["secret"]
    for secret in (token, refresh_token):
        assert secret not in caplog.text and secret not in str(caught.value)
        assert secret.encode() not in tenant.token_cache


def test_refresh_token_expired_after_inactivity(settings, engine, identity_sandbox) -> None:  # type: ignore[no-untyped-def]
    tenant_id = connect_tenant(settings, engine)
    identity_sandbox.expire_refresh_tokens(OWNER)
    with pytest.raises(ReconnectNeeded):
        TokenProvider(settings, engine).access_token(tenant_id, force_refresh=True)
    assert "AADSTS700082" in tenant_row(engine, tenant_id).status_reason
    assert [a["event"] for a in health_alerts(engine)] == ["needs_reconnect"]


def test_wrong_key_needs_reconnect_and_restoring_it_recovers(
    settings, engine, monkeypatch, encryption_key
) -> None:  # type: ignore[no-untyped-def]
    tenant_id = connect_tenant(settings, engine)
    monkeypatch.setenv("OUTREACH_MONITOR_KEY", Fernet.generate_key().decode())
    with pytest.raises(ReconnectNeeded) as caught:
        TokenProvider(settings, engine).access_token(tenant_id)
    assert str(caught.value) == (
        "tenant 'Contoso Dental': token cache cannot be decrypted with this key: "
        "reconnect with `outreach-monitor connect --tenant 'Contoso Dental'`"
    )
    assert tenant_row(engine, tenant_id).status == "needs_reconnect"

    monkeypatch.setenv("OUTREACH_MONITOR_KEY", encryption_key)
    assert TokenProvider(settings, engine).recheck(tenant_id)
    assert tenant_row(engine, tenant_id).status == "active"
    assert [a["event"] for a in health_alerts(engine)] == ["needs_reconnect", "reconnected"]


def test_damaged_cache_needs_reconnect(settings, engine) -> None:  # type: ignore[no-untyped-def]
    tenant_id = connect_tenant(settings, engine)
    with session_scope(engine) as session:
        session.get(Tenant, tenant_id).token_cache = TokenVault.from_settings(settings).encrypt("{not json")
    with pytest.raises(
        ReconnectNeeded, match="token cache is damaged: reconnect with `outreach-monitor connect"
    ):
        TokenProvider(settings, engine).access_token(tenant_id)
    assert tenant_row(engine, tenant_id).status_reason == "token cache is damaged"


def test_identity_platform_down_is_passing_trouble_not_a_reconnect(
    settings, engine, identity_sandbox
) -> None:  # type: ignore[no-untyped-def]
    identity_sandbox.access_token_lifetime = 120  # msal refreshes tokens with < 5 min left
    tenant_id = connect_tenant(settings, engine)
    provider = TokenProvider(settings, engine)
    provider.access_token(tenant_id)
    identity_sandbox.stop()
    with pytest.raises(AuthError, match="cannot reach the identity platform") as caught:
        provider.access_token(tenant_id)
    assert not isinstance(caught.value, ReconnectNeeded)
    tenant = tenant_row(engine, tenant_id)
    assert tenant.status == "active" and "cannot reach" in tenant.last_error
    assert health_alerts(engine) == []

    identity_sandbox.start()  # back on the same port: the next refresh works and clears the error
    assert provider.access_token(tenant_id)
    assert tenant_row(engine, tenant_id).last_error == ""


# --- the Graph probe -----------------------------------------------------------------------
def test_probe_mailbox_names_graphs_error(directory) -> None:  # type: ignore[no-untyped-def]
    graph_module = pytest.importorskip("monitor.sandbox.graph")
    directory.user(FRONTDESK)
    with graph_module.GraphSandbox(directory) as graph:
        owner = directory.user(OWNER)
        token = directory.issue_access_token(owner, ["Mail.Read", "User.Read", "Mail.Read.Shared"])
        http = Session()
        probe_mailbox(http, graph.base_url, token, None)
        probe_mailbox(http, graph.base_url, token, FRONTDESK)
        with pytest.raises(
            MailboxUnreadable, match=r"ceo@contoso.example cannot be read \(403 ErrorAccessDenied\)"
        ) as denied:
            probe_mailbox(http, graph.base_url, token, PRIVATE)
        assert (denied.value.status, denied.value.code) == (403, "ErrorAccessDenied")
        directory.user(FRONTDESK).mail_enabled = False
        with pytest.raises(MailboxUnreadable, match="404 MailboxNotEnabledForRESTAPI"):
            probe_mailbox(http, graph.base_url, token, FRONTDESK)
        without_shared = directory.issue_access_token(owner, ["Mail.Read", "User.Read"])
        with pytest.raises(MailboxUnreadable, match="403"):
            probe_mailbox(http, graph.base_url, without_shared, PRIVATE)
    with pytest.raises(GraphError, match="cannot reach Microsoft Graph"):
        probe_mailbox(requests.Session(), "http://127.0.0.1:1/v1.0", token, None)
