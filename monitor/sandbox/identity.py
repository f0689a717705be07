"""A sandbox of the Microsoft identity platform (Entra ID v2 endpoints) on loopback, over TLS.

msal refuses any authority that is not https, so the sandbox makes a self-signed certificate
at start (``.ca_file``, trusted through ``[identity] ca_bundle``) and serves:

- ``GET /{tenant}/v2.0/.well-known/openid-configuration``: tenant is ``organizations``,
  ``common``, a tenant id or one of its domains (anything else: 400 AADSTS90002);
- ``POST /{tenant}/oauth2/v2.0/devicecode`` and ``POST /{tenant}/oauth2/v2.0/token``
  (``device_code`` and ``refresh_token`` grants), with Entra's error shapes;
- ``GET /devicelogin``: a page saying how to approve a code without a browser;
- control calls, from loopback only: ``POST /_sandbox/device/approve {"user_code", "upn"}``
  and ``POST /_sandbox/device/decline {"user_code"}``.

Nobody types a password: a device code is approved by the control call, by :meth:`approve`,
or by ``auto_approve=upn``, which approves every code for that user after its first poll, so
a client sees exactly one ``authorization_pending``. Approving is signing in *and* consenting
to the requested scopes, which is how a revoked consent is given back.

Access tokens come from :meth:`Directory.issue_access_token` with the short scope names Entra
puts in ``scp`` ("Mail.Read User.Read"), so the Graph sandbox can check them.

The sandbox knows one app registration, :data:`SANDBOX_CLIENT_ID` (set it as ``[identity]
client_id``); pass ``client_ids`` for others, and ``client_secrets`` for confidential clients.
Other knobs: :meth:`revoke_consent`, :meth:`restore_consent` (the flag only: the scopes come
back with the next sign-in), :meth:`expire_refresh_tokens`, ``access_token_lifetime``,
``device_code_lifetime``, ``interval`` (seconds between polls; 0 makes tests fast) and
``requests``, a counter of the calls it answered.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import ipaddress
import json
import logging
import secrets
import shutil
import socket
import ssl
import tempfile
import threading
import time
import uuid
import weakref
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from monitor.http import is_loopback_host
from monitor.sandbox.directory import Directory, SandboxUser
from monitor.sandbox.server import ServedInThread

log = logging.getLogger(__name__)

# The app registration the sandbox knows by default (a made-up Application (client) ID).
SANDBOX_CLIENT_ID = "5a1db0c5-0000-4000-8000-0000000a11ce"
RESERVED_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
GENERIC_TENANTS = frozenset({"organizations", "common"})
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def short_scope(scope: str) -> str:
    """``https://graph.microsoft.com/Mail.Read`` -> ``Mail.Read`` (the form Entra puts in ``scp``)."""
    return scope.rsplit("/", 1)[-1] if scope.startswith("https://") else scope


def resource_scopes(scope_param: str) -> set[str]:
    return {short_scope(s) for s in scope_param.split() if s and s not in RESERVED_SCOPES}


@dataclass
class DeviceCode:
    device_code: str
    user_code: str
    client_id: str
    tenant: str  # the authority's tenant segment
    scope: str  # as requested, echoed in the token response
    expires_at: float
    polls: int = 0
    state: str = "pending"  # "approved", "declined", "redeemed"
    upn: str = ""


@dataclass
class RefreshGrant:
    upn: str
    client_id: str
    expired: bool = False


@dataclass
class _Error(Exception):
    error: str
    code: int
    description: str
    status: int = 400
    suberror: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost; returns (cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Outreach Monitor identity sandbox")])
    now = dt.datetime.now(dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


class IdentitySandbox(ServedInThread):
    """The sandbox identity provider. ``with IdentitySandbox(directory) as idp: idp.authority_host``."""

    thread_name = "identity-sandbox"

    def __init__(
        self,
        directory: Directory,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        auto_approve: str | None = None,
        client_ids: Iterable[str] = (SANDBOX_CLIENT_ID,),
        client_secrets: dict[str, str] | None = None,
        access_token_lifetime: int = 3599,
        device_code_lifetime: int = 900,
        interval: int = 1,
    ) -> None:
        super().__init__()
        self.directory = directory
        self.host = host
        self.port = port
        self.auto_approve = auto_approve.lower() if auto_approve else None
        self.client_ids = set(client_ids)
        # A client id listed here is a confidential client: its token requests must carry the secret.
        self.client_secrets = dict(client_secrets or {})
        self.client_ids.update(self.client_secrets)
        self.access_token_lifetime = access_token_lifetime
        self.device_code_lifetime = device_code_lifetime
        self.interval = interval
        self.device_codes: dict[str, DeviceCode] = {}
        self.refresh_tokens: dict[str, RefreshGrant] = {}
        self.consents: dict[tuple[str, str], set[str]] = {}  # (upn, client id) -> granted scopes
        self.requests: Counter[str] = Counter()  # "discovery", "devicecode", grant types, "error:<code>"
        self.lock = threading.RLock()
        self.ca_file = ""
        self._tmp: str | None = None

    # --- lifecycle -----------------------------------------------------------------------
    def _make_server(self) -> ThreadingHTTPServer:
        """Serves (again, after :meth:`stop`: same port when it was fixed, same certificate)."""
        if self._tmp is None:
            self._tmp = tempfile.mkdtemp(prefix="outreach-idp-")
            # The certificate outlives stop(), so a stopped sandbox looks like an IdP that is
            # down rather than one whose CA file vanished; it goes with the object.
            weakref.finalize(self, shutil.rmtree, self._tmp, ignore_errors=True)
            make_certificate(Path(self._tmp))
        cert, key = Path(self._tmp) / "cert.pem", Path(self._tmp) / "key.pem"
        self.ca_file = str(cert)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server = _Server((self.host, self.port), _handler_for(self))
        # Handshake lazily in the request thread, so one silent client cannot stall accept().
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        return server

    def _closing(self, server: ThreadingHTTPServer) -> None:
        server.close_connections()  # type: ignore[attr-defined]

    @property
    def authority_host(self) -> str:
        host = "localhost" if self.host in ("localhost",) else "127.0.0.1"
        return f"https://{host}:{self.port}"

    # --- knobs ---------------------------------------------------------------------------
    def revoke_consent(self, upn: str) -> None:
        """The user (or an admin) removes the app's consent: refreshes fail with AADSTS65001."""
        with self.lock:
            self._user(upn).consent_revoked = True
            for key in [k for k in self.consents if k[0] == upn.lower()]:
                del self.consents[key]

    def restore_consent(self, upn: str) -> None:
        with self.lock:
            self._user(upn).consent_revoked = False

    def expire_refresh_tokens(self, upn: str) -> None:
        """Every refresh token of the user ages out: refreshes fail with AADSTS700082."""
        with self.lock:
            for grant in self.refresh_tokens.values():
                if grant.upn == upn.lower():
                    grant.expired = True

    def approve(self, user_code: str, upn: str) -> None:
        """The user signs in on the device-login page and consents to the requested scopes."""
        with self.lock:
            code = self._pending_code(user_code)
            user = self._user(upn)
            code.state, code.upn = "approved", user.upn
            user.consent_revoked = False
            self.consents.setdefault((user.upn, code.client_id), set()).update(resource_scopes(code.scope))

    def decline(self, user_code: str) -> None:
        with self.lock:
            self._pending_code(user_code).state = "declined"

    def _user(self, upn: str) -> SandboxUser:
        user = self.directory.user(upn)
        if user is None:
            raise KeyError(f"no sandbox user {upn!r}")
        return user

    def _pending_code(self, user_code: str) -> DeviceCode:
        wanted = user_code.strip().upper()
        for code in self.device_codes.values():
            if code.user_code == wanted and code.state == "pending" and code.expires_at > time.time():
                return code
        raise KeyError(f"no pending device code {user_code!r}")

    # --- protocol ------------------------------------------------------------------------
    def discovery(self, tenant: str) -> dict[str, Any]:
        self._check_tenant(tenant)
        base = f"{self.authority_host}/{tenant}"
        return {
            "issuer": f"{base}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "jwks_uri": f"{self.authority_host}/{tenant}/discovery/v2.0/keys",
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "tenant_region_scope": "EU",
        }

    def device_authorization(self, tenant: str, form: dict[str, str]) -> dict[str, Any]:
        self._check_tenant(tenant)
        client_id = form.get("client_id", "")
        self._check_client(client_id, form, secret_needed=False)
        scope = form.get("scope", "")
        if not resource_scopes(scope):
            raise _Error("invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid.")
        with self.lock:
            user_code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(9))
            code = DeviceCode(
                device_code=secrets.token_urlsafe(32),
                user_code=user_code,
                client_id=client_id,
                tenant=tenant,
                scope=scope,
                expires_at=time.time() + self.device_code_lifetime,
            )
            self.device_codes[code.device_code] = code
        uri = f"{self.authority_host}/devicelogin"
        return {
            "user_code": user_code,
            "device_code": code.device_code,
            "verification_uri": uri,
            "expires_in": self.device_code_lifetime,
            "interval": self.interval,
            "message": f"To sign in, use a web browser to open the page {uri} and enter the code {user_code} to authenticate.",
        }

    def token(self, tenant: str, form: dict[str, str], basic_auth: tuple[str, str] | None) -> dict[str, Any]:
        self._check_tenant(tenant)
        if basic_auth and not form.get("client_secret"):
            form = dict(form, client_id=form.get("client_id") or basic_auth[0], client_secret=basic_auth[1])
        client_id = form.get("client_id", "")
        self._check_client(client_id, form, secret_needed=True)
        grant = form.get("grant_type", "")
        self.requests[grant] += 1
        if grant == DEVICE_GRANT:
            return self._device_code_grant(tenant, client_id, form)
        if grant == "refresh_token":
            return self._refresh_grant(tenant, client_id, form)
        raise _Error("unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant}'.")

    def _device_code_grant(self, tenant: str, client_id: str, form: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            code = self.device_codes.get(form.get("device_code", ""))
            if code is None or code.client_id != client_id:
                raise _Error("invalid_grant", 70000, "Provided grant is invalid or malformed.")
            if code.state == "redeemed" or code.expires_at <= time.time():
                raise _Error(
                    "expired_token", 70020,
                    "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
                )
            code.polls += 1
            if code.state == "pending" and self.auto_approve and code.polls > 1:
                if self.directory.user(self.auto_approve) is None:
                    raise _Error("invalid_grant", 50034, f"The user account {self.auto_approve} does not exist.")
                self.approve(code.user_code, self.auto_approve)
            if code.state == "declined":
                raise _Error("authorization_declined", 70000, "The user denied the authorization request.")
            if code.state == "pending":
                raise _Error(
                    "authorization_pending", 70016,
                    "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                )
            code.state = "redeemed"
            user = self._user(code.upn)
            return self._issue(user, tenant, client_id, code.scope)

    def _refresh_grant(self, tenant: str, client_id: str, form: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            grant = self.refresh_tokens.get(form.get("refresh_token", ""))
            if grant is None or grant.client_id != client_id:
                raise _Error("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
            if grant.expired:
                raise _Error(
                    "invalid_grant", 700082,
                    "The refresh token has expired due to inactivity. The token was issued on "
                    f"{dt.datetime.now(dt.UTC) - dt.timedelta(days=91):%Y-%m-%dT%H:%M:%S.%fZ} and was inactive for 90.00:00:00.",
                )
            user = self._user(grant.upn)
            scope = form.get("scope", "")
            granted = self.consents.get((user.upn, client_id), set())
            if user.consent_revoked or not resource_scopes(scope) <= granted:
                raise _Error(
                    "invalid_grant", 65001,
                    f"The user or administrator has not consented to use the application with ID '{client_id}' "
                    "named 'Outreach Monitor'. Send an interactive authorization request for this user and resource.",
                    suberror="consent_required",
                )
            return self._issue(user, tenant, client_id, scope)

    def _issue(self, user: SandboxUser, tenant: str, client_id: str, scope: str) -> dict[str, Any]:
        if tenant not in GENERIC_TENANTS and self._tenant_id(tenant) != user.tenant_id:
            raise _Error(
                "invalid_grant", 50020,
                f"User account '{user.upn}' from identity provider 'live.com' does not exist in tenant "
                f"'{tenant}' and cannot access the application '{client_id}' in that tenant.",
            )
        refresh_token = "sandbox-rt." + secrets.token_urlsafe(40)
        self.refresh_tokens[refresh_token] = RefreshGrant(user.upn, client_id)
        now = int(time.time())
        id_claims = {
            "aud": client_id,
            "iss": f"{self.authority_host}/{user.tenant_id}/v2.0",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "name": user.display_name,
            "oid": user.object_id,
            "preferred_username": user.upn,
            "sub": _b64(uuid.uuid5(uuid.NAMESPACE_URL, f"{client_id}/{user.object_id}").bytes),
            "tid": user.tenant_id,
            "ver": "2.0",
        }
        # msal reads the id_token's claims without checking a signature (unsigned, like alg=none).
        id_token = ".".join(
            (_b64(json.dumps({"typ": "JWT", "alg": "none"}).encode()), _b64(json.dumps(id_claims).encode()), "")
        )
        scopes = sorted(resource_scopes(scope))
        return {
            "token_type": "Bearer",
            "scope": scope,  # echoed verbatim: msal matches cached tokens on it
            "expires_in": self.access_token_lifetime,
            "ext_expires_in": self.access_token_lifetime,
            "access_token": self.directory.issue_access_token(user, scopes, lifetime=self.access_token_lifetime),
            "refresh_token": refresh_token,
            "id_token": id_token,
            "client_info": _b64(json.dumps({"uid": user.object_id, "utid": user.tenant_id}).encode()),
        }

    def _tenant_id(self, tenant: str) -> str | None:
        with self.directory.lock:
            if tenant in self.directory.tenants:
                return tenant
            wanted = tenant.lower()
            for candidate in self.directory.tenants.values():
                if wanted in candidate.domains:
                    return candidate.tenant_id
        return None

    def _check_tenant(self, tenant: str) -> None:
        if tenant not in GENERIC_TENANTS and self._tenant_id(tenant) is None:
            raise _Error(
                "invalid_tenant", 90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
                "signing into the correct cloud.",
            )

    def _check_client(self, client_id: str, form: dict[str, str], *, secret_needed: bool) -> None:
        if client_id not in self.client_ids:
            raise _Error(
                "unauthorized_client", 700016,
                f"Application with identifier '{client_id}' was not found in the directory. This can happen if "
                "the application has not been installed by the administrator of the tenant or consented to by "
                "any user in the tenant. You may have sent your authentication request to the wrong tenant.",
            )
        expected = self.client_secrets.get(client_id)
        if not (secret_needed and expected):
            return
        given = form.get("client_secret")
        if not given:
            raise _Error(
                "invalid_client", 7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
                status=401,
            )
        if not secrets.compare_digest(given, expected):
            raise _Error(
                "invalid_client", 7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
                f"value, not the client secret ID, for a secret added to app '{client_id}'.",
                status=401,
            )


def error_body(exc: _Error) -> dict[str, Any]:
    """Entra's error envelope, trace lines included (clients must not show them verbatim)."""
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    body: dict[str, Any] = {
        "error": exc.error,
        "error_description": f"AADSTS{exc.code}: {exc.description}\r\nTrace ID: {trace}\r\n"
        f"Correlation ID: {correlation}\r\nTimestamp: {stamp}",
        "error_codes": [exc.code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={exc.code}",
    }
    if exc.suberror:
        body["suberror"] = exc.suberror
    body.update(exc.extra)
    return body


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Drops kept-alive connections too, so a stopped sandbox is really gone for clients."""
        with self.connections_lock:
            for connection in list(self.connections):
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            self.connections.clear()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that does not trust the certificate, or hangs up, is its own business.
        log.debug("identity sandbox: request from %s failed", client_address, exc_info=True)


def _handler_for(idp: IdentitySandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "IdentitySandbox/1.0"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
            log.debug("%s %s", self.address_string(), format % args)

        def _send(self, status: int, body: Any, content_type: str = "application/json; charset=utf-8") -> None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store, no-cache")
            self.end_headers()
            self.wfile.write(data)

        def _form(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            if self.headers.get("Content-Type", "").startswith("application/json"):
                try:
                    data = json.loads(raw or "{}")
                except json.JSONDecodeError:
                    return {}
                return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
            return {k: v[-1] for k, v in parse_qs(raw, keep_blank_values=True).items()}

        def _basic_auth(self) -> tuple[str, str] | None:
            header = self.headers.get("Authorization", "")
            if not header.lower().startswith("basic "):
                return None
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return None
            return user, password

        def _route(self, method: str) -> None:
            path = urlsplit(self.path).path
            parts = [p for p in path.split("/") if p]
            try:
                if parts[:1] == ["_sandbox"]:
                    self._control(method, parts[1:])
                elif method == "GET" and parts == ["devicelogin"]:
                    self._send(200, _DEVICE_LOGIN_TEXT, "text/plain; charset=utf-8")
                elif method == "GET" and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
                    idp.requests["discovery"] += 1
                    self._send(200, idp.discovery(parts[0]))
                elif method == "POST" and parts[1:] == ["oauth2", "v2.0", "devicecode"]:
                    idp.requests["devicecode"] += 1
                    self._send(200, idp.device_authorization(parts[0], self._form()))
                elif method == "POST" and parts[1:] == ["oauth2", "v2.0", "token"]:
                    self._send(200, idp.token(parts[0], self._form(), self._basic_auth()))
                else:
                    self._send(404, {"error": "not_found", "error_description": f"No such endpoint: {path}"})
            except _Error as exc:
                idp.requests[f"error:{exc.error}"] += 1
                self._send(exc.status, error_body(exc))

        def _control(self, method: str, parts: list[str]) -> None:
            if not is_loopback_host(self.client_address[0]):
                self._send(403, {"error": "forbidden", "error_description": "sandbox control calls are loopback-only"})
                return
            if method != "POST" or parts[:1] != ["device"] or parts[1:] not in (["approve"], ["decline"]):
                self._send(404, {"error": "not_found", "error_description": "unknown control call"})
                return
            form = self._form()
            try:
                if parts[1] == "approve":
                    idp.approve(form.get("user_code", ""), form.get("upn", ""))
                else:
                    idp.decline(form.get("user_code", ""))
            except KeyError as exc:
                self._send(404, {"error": "not_found", "error_description": str(exc.args[0])})
                return
            self._send(200, {"ok": True})

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self._route("GET")

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self._route("POST")

    return Handler


_DEVICE_LOGIN_TEXT = """Outreach Monitor identity sandbox: device sign-in

There is no password here. Approve the code shown by `outreach-monitor connect` with:

  curl --cacert CERT -X POST -H 'Content-Type: application/json' \\
       -d '{"user_code": "CODE", "upn": "user@contoso.example"}' \\
       https://127.0.0.1:PORT/_sandbox/device/approve

or decline it with POST /_sandbox/device/decline {"user_code": "CODE"}.
"""
