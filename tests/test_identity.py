"""The sandbox identity provider, driven by the real msal over TLS and by plain HTTP calls."""

from __future__ import annotations

import json
import socket
import ssl
import time

import msal
import pytest
import requests
from conftest import OUTSIDER, OWNER

from monitor.http import Session
from monitor.sandbox.identity import SANDBOX_CLIENT_ID, IdentitySandbox

SCOPES = ["https://graph.microsoft.com/Mail.Read", "https://graph.microsoft.com/User.Read"]


def app_for(idp: IdentitySandbox, tenant: str = "organizations", client_id: str = SANDBOX_CLIENT_ID, **kw):  # type: ignore[no-untyped-def]
    # A fresh app per call: msal replays recent HTTP errors from its own cache.
    return msal.PublicClientApplication(
        client_id,
        authority=f"{idp.authority_host}/{tenant}",
        instance_discovery=False,
        http_client=Session(ca_bundle=idp.ca_file),
        token_cache=msal.SerializableTokenCache(),
        **kw,
    )


def sign_in(idp: IdentitySandbox, tenant: str = "organizations", scopes: list[str] = SCOPES):  # type: ignore[no-untyped-def]
    app = app_for(idp, tenant)
    flow = app.initiate_device_flow(scopes=scopes)
    return app, app.acquire_token_by_device_flow(flow)


def test_certificate_covers_loopback_names_and_is_trusted_only_through_ca_file(identity_sandbox) -> None:  # type: ignore[no-untyped-def]
    context = ssl.create_default_context(cafile=identity_sandbox.ca_file)
    with (
        socket.create_connection(("127.0.0.1", identity_sandbox.port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        names = {v for _, v in tls.getpeercert()["subjectAltName"]}
    assert {"127.0.0.1", "localhost"} <= names
    url = f"{identity_sandbox.authority_host}/organizations/v2.0/.well-known/openid-configuration"
    with pytest.raises(requests.exceptions.SSLError):
        Session().get(url, timeout=5)  # REQUESTS_CA_BUNDLE / system CAs do not know it


def test_discovery_for_generic_tenant_guid_and_domain_and_unknown(identity_sandbox, directory) -> None:  # type: ignore[no-untyped-def]
    http = Session(ca_bundle=identity_sandbox.ca_file)
    guid = directory.user(OWNER).tenant_id
    for tenant in ("organizations", "common", guid, "contoso.example"):
        doc = http.get(
            f"{identity_sandbox.authority_host}/{tenant}/v2.0/.well-known/openid-configuration"
        ).json()
        assert doc["token_endpoint"] == f"{identity_sandbox.authority_host}/{tenant}/oauth2/v2.0/token"
        assert doc["device_authorization_endpoint"].endswith(f"/{tenant}/oauth2/v2.0/devicecode")
    answer = http.get(
        f"{identity_sandbox.authority_host}/nowhere.example/v2.0/.well-known/openid-configuration"
    )
    assert answer.status_code == 400
    assert answer.json()["error_codes"] == [90002]


def test_device_flow_has_one_pending_poll_and_returns_an_msal_account(identity_sandbox, directory) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    app, result = sign_in(identity_sandbox)
    assert time.monotonic() - started < 5
    assert "access_token" in result, result
    assert identity_sandbox.requests["error:authorization_pending"] == 1
    owner = directory.user(OWNER)
    claims = result["id_token_claims"]
    assert (claims["tid"], claims["oid"], claims["preferred_username"], claims["name"]) == (
        owner.tenant_id,
        owner.object_id,
        OWNER,
        "Olivia Owner",
    )
    # scope echoed verbatim, so msal finds the token again without asking the IdP.
    assert set(SCOPES) <= set(result["scope"].split())
    [account] = app.get_accounts()
    assert account["home_account_id"] == f"{owner.object_id}.{owner.tenant_id}"
    assert app.acquire_token_silent(SCOPES, account)["token_source"] == "cache"
    # Graph's sandbox accepts the token, with Entra's short scope names in scp.
    user, reason = directory.check_access_token(result["access_token"])
    assert user is owner and reason == ""
    payload = result["access_token"].split(".")[1]
    scp = json.loads(__import__("base64").urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["scp"]
    assert scp.split() == ["Mail.Read", "User.Read"]


def test_control_calls_approve_and_decline_device_codes(directory) -> None:  # type: ignore[no-untyped-def]
    with IdentitySandbox(directory) as idp:  # no auto-approve
        http = Session(ca_bundle=idp.ca_file)
        app = app_for(idp)
        flow = app.initiate_device_flow(scopes=SCOPES)
        assert (flow["interval"], flow["expires_in"]) == (1, 900)
        answer = http.post(
            f"{idp.authority_host}/_sandbox/device/approve",
            json={"user_code": flow["user_code"], "upn": OWNER},
        )
        assert answer.status_code == 200
        assert app.acquire_token_by_device_flow(flow)["id_token_claims"]["preferred_username"] == OWNER

        flow = app_for(idp).initiate_device_flow(scopes=SCOPES)
        http.post(f"{idp.authority_host}/_sandbox/device/decline", json={"user_code": flow["user_code"]})
        assert app.acquire_token_by_device_flow(flow)["error"] == "authorization_declined"

        unknown = http.post(
            f"{idp.authority_host}/_sandbox/device/approve", json={"user_code": "NOPE", "upn": OWNER}
        )
        assert unknown.status_code == 404


def test_control_calls_are_refused_from_other_hosts(directory) -> None:  # type: ignore[no-untyped-def]
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent; picks the outward interface
            address = probe.getsockname()[0]
    except OSError:
        address = ""
    if not address or address.startswith("127."):
        pytest.skip("no non-loopback interface to call from")
    with IdentitySandbox(directory, host="0.0.0.0") as idp:
        context = ssl.create_default_context(cafile=idp.ca_file)
        context.check_hostname = False  # the certificate names loopback only
        with socket.create_connection((address, idp.port), timeout=5) as raw, context.wrap_socket(raw) as tls:
            body = json.dumps({"user_code": "X", "upn": OWNER}).encode()
            tls.sendall(
                b"POST /_sandbox/device/approve HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            reply = tls.recv(4096).decode()
    assert reply.startswith("HTTP/1.1 403")


def test_expired_device_code_answers_expired_token(directory) -> None:  # type: ignore[no-untyped-def]
    with IdentitySandbox(directory, device_code_lifetime=1) as idp:
        app = app_for(idp)
        flow = app.initiate_device_flow(scopes=SCOPES)
        time.sleep(1.1)
        answer = Session(ca_bundle=idp.ca_file).post(
            f"{idp.authority_host}/organizations/oauth2/v2.0/token",
            data={
                "client_id": SANDBOX_CLIENT_ID,
                "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                "device_code": flow["device_code"],
            },
        )
        assert answer.status_code == 400
        assert (answer.json()["error"], answer.json()["error_codes"]) == ("expired_token", [70020])


def test_unknown_client_id_is_unauthorized_client(identity_sandbox) -> None:  # type: ignore[no-untyped-def]
    flow = app_for(identity_sandbox, client_id="00000000-0000-0000-0000-000000000bad").initiate_device_flow(
        scopes=SCOPES
    )
    assert "user_code" not in flow
    assert flow["error"] == "unauthorized_client"
    assert flow["error_codes"] == [700016]
    assert "Trace ID" in flow["error_description"]  # Entra's shape; clients must trim it


def test_refresh_consent_revoked_restored_and_expired(identity_sandbox, directory) -> None:  # type: ignore[no-untyped-def]
    guid = directory.user(OWNER).tenant_id
    first, _ = sign_in(identity_sandbox, tenant=guid)
    cache = first.token_cache.serialize()

    def refresh():  # type: ignore[no-untyped-def]
        app = app_for(identity_sandbox, tenant=guid)
        app.token_cache.deserialize(cache)
        return app.acquire_token_silent_with_error(SCOPES, app.get_accounts()[0], force_refresh=True)

    assert "access_token" in refresh()
    identity_sandbox.revoke_consent(OWNER)
    revoked = refresh()
    assert (revoked["error"], revoked["suberror"], revoked["error_codes"]) == (
        "invalid_grant",
        "consent_required",
        [65001],
    )
    assert revoked["classification"] == "consent_required"
    identity_sandbox.restore_consent(OWNER)
    # Restoring the flag is not consenting again: the scopes must be granted by a new sign-in.
    assert refresh()["error_codes"] == [65001]

    app, _ = sign_in(identity_sandbox, tenant=guid)
    cache = app.token_cache.serialize()
    assert "access_token" in refresh()
    identity_sandbox.expire_refresh_tokens(OWNER)
    expired = refresh()
    assert (expired["error"], expired["error_codes"]) == ("invalid_grant", [700082])


def test_refresh_for_scopes_never_consented_needs_consent(identity_sandbox) -> None:  # type: ignore[no-untyped-def]
    app, _ = sign_in(identity_sandbox)
    result = app.acquire_token_silent_with_error(
        [*SCOPES, "https://graph.microsoft.com/Mail.Read.Shared"], app.get_accounts()[0]
    )
    assert result["suberror"] == "consent_required"


def test_user_of_another_tenant_cannot_sign_in_to_this_one(directory) -> None:  # type: ignore[no-untyped-def]
    guid = directory.user(OWNER).tenant_id
    with IdentitySandbox(directory, auto_approve=OUTSIDER) as idp:
        _, result = sign_in(idp, tenant=guid)
    assert result["error_codes"] == [50020]


def test_confidential_client_must_send_its_secret(directory) -> None:  # type: ignore[no-untyped-def]
    with IdentitySandbox(directory, auto_approve=OWNER, client_secrets={"conf-app": "s3cret"}) as idp:

        def confidential(secret: str):  # type: ignore[no-untyped-def]
            app = msal.ConfidentialClientApplication(
                "conf-app",
                client_credential=secret,
                authority=f"{idp.authority_host}/organizations",
                instance_discovery=False,
                http_client=Session(ca_bundle=idp.ca_file),
            )
            flow = app.client.initiate_device_flow(scope=SCOPES)
            return app.client.obtain_token_by_device_flow(flow, data={"code": flow["device_code"]})

        assert "access_token" in confidential("s3cret")
        wrong = confidential("guess")
        assert (wrong["error"], wrong["error_codes"]) == ("invalid_client", [7000215])
