"""A sandbox of Microsoft Graph mail on loopback, faithful where our client depends on it.

Serves, under ``/v1.0`` (``GraphSandbox.base_url``):

- ``GET /me``, ``GET /users/{id|upn}``;
- ``GET /{me|users/{id|upn}}/mailFolders[/{id}]``;
- ``GET /{me|users/{id|upn}}/mailFolders/{id}/messages/delta``: delta per folder with ``$select``
  (``internetMessageHeaders`` only when selected), ``$filter=receivedDateTime ge ..``, ``$top``,
  ``Prefer: odata.maxpagesize=N``, ``outlook.body-content-type="text"`` and ``IdType="ImmutableId"``
  (answered with ``Preference-Applied``), absolute next/delta links on the sandbox's own base URL,
  ``@removed`` entries, and 410 ``SyncStateNotFound`` for an expired token;
- ``GET /{me|users/..}[/mailFolders/{id}]/messages/{id}``;
- ``POST /$batch``: at most 20 requests, inner responses in any order, ``dependsOn`` with 424.

Bearer tokens are checked with the shared :class:`~monitor.sandbox.directory.Directory` (401
``InvalidAuthenticationToken`` with Graph's ``WWW-Authenticate``); a user reads their own mailbox
and those shared with them (``Mail.Read.Shared``), else 403 ``ErrorAccessDenied``; a mailbox that
is not mail-enabled answers 404 ``MailboxNotEnabledForRESTAPI``. Errors use Graph's envelope and
headers (``request-id``, ``client-request-id``, ``Date``, ``Content-Type``).

Throttling as Outlook does it, per mailbox: at most 4 requests in flight and a request budget
per window, answered with 429 ``ApplicationThrottled`` and a decimal ``Retry-After``; a retry
before that time is throttled again (Dev Proxy's RetryAfterPlugin). Faults (:class:`Faults`):
latency, rates of 429/503/504, dropped connections, malformed bodies, expired delta tokens. As in
Dev Proxy, a ``$batch`` itself answers 200 and its inner requests fail one by one.

Control API (loopback clients only), for tests and demos:

- ``POST /_sandbox/mailboxes/{address}/messages[?folder=inbox]`` a Graph message JSON -> 201
  (id, dates, folder and internetMessageId are filled when absent);
- ``DELETE /_sandbox/mailboxes/{address}/messages/{id}`` -> 204;
- ``POST /_sandbox/mailboxes/{address}/messages/{id}/move`` ``{"destinationId": "archive"}`` -> 200;
- ``PATCH /_sandbox/mailboxes/{address}/messages/{id}`` changed properties -> 200;
- ``GET|PUT /_sandbox/faults`` and ``GET|PUT /_sandbox/limits`` (unknown knobs -> 400);
- ``POST /_sandbox/expire-delta-tokens`` ``{"address": optional}`` -> 204;
- ``GET /_sandbox/stats`` request counters, ``DELETE /_sandbox/stats`` resets them.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import math
import random
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from monitor.http import is_loopback_host
from monitor.sandbox.directory import Directory, SandboxUser
from monitor.sandbox.mailstore import DeltaState, MailStore, StoreError, iso, parse_iso, render
from monitor.sandbox.server import ServedInThread

log = logging.getLogger(__name__)

MAX_BATCH = 20
JSON_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
WWW_AUTHENTICATE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    'client_id="00000003-0000-0000-c000-000000000000"'
)
OWN_SCOPES = frozenset({"Mail.Read", "Mail.ReadWrite", "Mail.ReadBasic", "Mail.Read.Shared", "Mail.ReadWrite.Shared"})
SHARED_SCOPES = frozenset({"Mail.Read.Shared", "Mail.ReadWrite.Shared"})
_FOLDER_CALL = re.compile(r"(?i)^mailfolders\('([^']*)'\)$")
_FILTER = re.compile(r"(?i)^\s*receivedDateTime\s+(ge|gt)\s+(\S+)\s*$")
DROP = object()  # a reply that is a dropped connection


@dataclass
class Faults:
    """Fault knobs; rates are probabilities per request (per inner request in a $batch)."""

    latency_ms: float = 0.0
    rate_429: float = 0.0
    rate_503: float = 0.0
    rate_504: float = 0.0
    drop_rate: float = 0.0  # connection closed without an answer
    malformed_rate: float = 0.0  # 200 with a truncated JSON body
    expired_delta_rate: float = 0.0  # a $deltatoken request answers 410 SyncStateNotFound
    retry_after: float = 2.0  # seconds, sent as a decimal with 429 and 503
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("rate_429", "rate_503", "rate_504", "drop_rate", "malformed_rate", "expired_delta_rate"):
            value = float(getattr(self, name))
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
            setattr(self, name, value)
        if float(self.latency_ms) < 0 or float(self.retry_after) < 0:
            raise ValueError("latency_ms and retry_after must not be negative")


@dataclass
class Limits:
    """Outlook's per-mailbox limits (per app): 4 concurrent requests, 10,000 per 10 minutes."""

    mailbox_concurrency: int = 4
    mailbox_budget: int = 10_000
    budget_window_seconds: float = 600.0


@dataclass
class Reply:
    status: int
    body: Any  # JSON-able, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)


class _Denied(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.headers = status, code, headers or {}


def _seconds(value: float) -> str:
    return f"{max(value, 0.001):.3f}"


def error_envelope(code: str, message: str, request_id: str, client_request_id: str) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_request_id,
            },
        }
    }


def _prefer(values: list[str]) -> dict[str, str]:
    """``Prefer`` preferences (several headers or comma-separated), names lower-cased."""
    prefs: dict[str, str] = {}
    for value in values:
        for part in value.split(","):
            name, _, arg = part.strip().partition("=")
            if name:
                prefs[name.strip().lower()] = arg.strip().strip('"')
    return prefs


def _scopes(token: str) -> set[str]:
    try:
        body = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        return set(str(claims.get("scp", "")).split())
    except (IndexError, ValueError):
        return set()


def _segments(path: str) -> list[str]:
    """Path segments, unquoted, with OData key syntax ``mailFolders('x')`` split in two."""
    out: list[str] = []
    for raw in path.split("/"):
        if not raw:
            continue
        part = unquote(raw)
        match = _FOLDER_CALL.match(part)
        out.extend(["mailFolders", match.group(1)] if match else [part])
    return out


class _Throttle:
    """Per-mailbox request budget, concurrency and "retry after" times."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight: Counter[str] = Counter()
        self.windows: dict[str, tuple[float, int]] = {}
        self.until: dict[str, tuple[float, str]] = {}  # throttled until, and why

    def admit(self, key: str, limits: Limits, retry_after: float, *, hold: bool) -> tuple[float, str] | None:
        """None when admitted (with a concurrency slot when ``hold``), else (retry after, reason)."""
        now = time.monotonic()
        with self.lock:
            until, why = self.until.get(key, (0.0, ""))
            if until > now:
                return until - now, why
            start, count = self.windows.get(key, (now, 0))
            if now - start >= limits.budget_window_seconds:
                start, count = now, 0
            if count >= limits.mailbox_budget:
                why = "Application is over its request limit."
                self.until[key] = (start + limits.budget_window_seconds, why)
                return start + limits.budget_window_seconds - now, why
            self.windows[key] = (start, count + 1)
            if hold:
                if self.in_flight[key] >= limits.mailbox_concurrency:
                    why = "Application is over its MailboxConcurrency limit."
                    self.until[key] = (now + retry_after, why)
                    return retry_after, why
                self.in_flight[key] += 1
            return None

    def throttle(self, key: str, seconds: float, why: str) -> None:
        with self.lock:
            self.until[key] = max(self.until.get(key, (0.0, "")), (time.monotonic() + seconds, why))

    def release(self, key: str) -> None:
        with self.lock:
            self.in_flight[key] -= 1
            if self.in_flight[key] <= 0:
                del self.in_flight[key]


class GraphSandbox(ServedInThread):
    """``with GraphSandbox(directory) as graph: graph.base_url`` -> ``http://127.0.0.1:P/v1.0``."""

    thread_name = "graph-sandbox"

    def __init__(self, directory: Directory, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__()
        self.directory = directory
        self.host = host
        self.port = port
        self.store = MailStore()
        self.faults = Faults()
        self.limits = Limits()
        self.counters: Counter[str] = Counter()
        self._counters_lock = threading.Lock()
        self._rng = random.Random()
        self._rng_lock = threading.Lock()
        self._throttle = _Throttle()

    # --- lifecycle ----------------------------------------------------------------------
    def _make_server(self) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer((self.host, self.port), _handler_for(self), bind_and_activate=False)
        server.daemon_threads = True
        server.request_queue_size = 512  # thousands of mailboxes' worth of clients connect at once
        server.allow_reuse_address = True
        server.server_bind()
        server.server_activate()
        return server

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1.0"

    # --- Python-side control --------------------------------------------------------------
    def _mail_user(self, address: str) -> SandboxUser:
        user = self.directory.user(address)
        if user is None:
            raise KeyError(f"no sandbox mailbox {address!r}")
        return user

    def add_message(self, upn: str, message: dict[str, Any], folder: str = "inbox") -> dict[str, Any]:
        """Deliver a Graph message JSON to a mailbox; returns it as stored (immutable id)."""
        return self.store.add(self._mail_user(upn).upn, message, folder)

    def delete_message(self, upn: str, message_id: str) -> None:
        self.store.delete(self._mail_user(upn).upn, message_id)

    def move_message(self, upn: str, message_id: str, folder: str) -> dict[str, Any]:
        return self.store.move(self._mail_user(upn).upn, message_id, folder)

    def update_message(self, upn: str, message_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        return self.store.update(self._mail_user(upn).upn, message_id, changes)

    def expire_delta_tokens(self, upn: str | None = None) -> None:
        self.store.expire_delta_tokens(self._mail_user(upn).upn if upn else None)

    def set_faults(self, **knobs: Any) -> Faults:
        """Change some fault knobs (others keep their value); unknown knobs raise TypeError."""
        faults = dataclasses.replace(self.faults, **knobs)
        with self._rng_lock:
            if "seed" in knobs:
                self._rng.seed(knobs["seed"])
            self.faults = faults
        return faults

    def set_limits(self, **knobs: Any) -> Limits:
        self.limits = dataclasses.replace(self.limits, **knobs)
        return self.limits

    def stats(self) -> dict[str, int]:
        with self._counters_lock:
            return dict(self.counters)

    def reset_stats(self) -> None:
        with self._counters_lock:
            self.counters.clear()

    def _count(self, *names: str) -> None:
        with self._counters_lock:
            for name in names:
                self.counters[name] += 1

    def _chance(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._rng_lock:
            return self._rng.random() < rate

    # --- Graph ------------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply | object:
        """One HTTP request to ``/v1.0/...``; returns a Reply, or DROP for a dropped connection."""
        self._count("requests")
        faults = self.faults
        if self._chance(faults.drop_rate):
            self._count("dropped")
            return DROP
        parts = urlsplit(target)
        segments = _segments(parts.path)[1:]  # without "v1.0"
        try:
            user, scopes = self._authenticate(headers.get("authorization", ""))
            if method == "POST" and segments == ["$batch"]:
                reply = self._batch(user, scopes, body)
            else:
                reply = self._call(user, scopes, method, segments, parts.query, headers, direct=True)
        except _Denied as exc:
            reply = Reply(exc.status, {"code": exc.code, "message": str(exc)}, exc.headers)
        if reply.status == 200 and self._chance(faults.malformed_rate):
            self._count("malformed")
            data = json.dumps(reply.body).encode()
            reply = Reply(200, data[: max(1, len(data) // 2)], reply.headers)
        self._count(f"status:{reply.status}")
        return reply

    def _authenticate(self, authorization: str) -> tuple[SandboxUser, set[str]]:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _Denied(401, "InvalidAuthenticationToken", "Access token is empty.",
                          {"WWW-Authenticate": WWW_AUTHENTICATE})
        user, reason = self.directory.check_access_token(token.strip())
        if user is None:
            raise _Denied(401, "InvalidAuthenticationToken", reason, {"WWW-Authenticate": WWW_AUTHENTICATE})
        return user, _scopes(token.strip())

    def _mailbox(self, reader: SandboxUser, scopes: set[str], segments: list[str]) -> tuple[SandboxUser, int]:
        """The mailbox a path names (``me`` or ``users/{id}``) and how many segments that took."""
        if segments[:1] == ["me"]:
            target, used = reader, 1
        elif len(segments) >= 2 and segments[0].lower() == "users":
            found = self.directory.user(segments[1])
            if found is None:
                raise _Denied(404, "ErrorInvalidUser", f"The requested user '{segments[1]}' is invalid.")
            target, used = found, 2
        else:
            raise _Denied(400, "BadRequest", "Resource not found for the segment '" + "/".join(segments[:1]) + "'.")
        own = target.upn == reader.upn
        if not self.directory.may_read(reader, target) or not (scopes & (OWN_SCOPES if own else SHARED_SCOPES)):
            raise _Denied(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        if not target.mail_enabled:
            raise _Denied(404, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, "
                          "or is hosted on-premise.")
        return target, used

    def _call(
        self,
        user: SandboxUser,
        scopes: set[str],
        method: str,
        segments: list[str],
        query: str,
        headers: dict[str, str],
        *,
        direct: bool,
    ) -> Reply:
        faults = self.faults
        lowered = [s.lower() for s in segments]
        if method == "GET" and (lowered == ["me"] or (len(lowered) == 2 and lowered[0] == "users")):
            if direct:
                time.sleep(faults.latency_ms / 1000)
            return self._profile(user, segments)
        if method != "GET" or not segments:
            raise _Denied(400, "BadRequest", f"Unsupported request: {method} /{'/'.join(segments)}")
        target, used = self._mailbox(user, scopes, segments)
        rest, prefix = segments[used:], "/".join(quote(s, safe="@") for s in segments[:used])
        key = target.upn
        refused = self._throttle.admit(key, self.limits, faults.retry_after, hold=direct)
        if refused is not None:
            self._count("throttled")
            wait, reason = refused
            raise _Denied(429, "ApplicationThrottled", reason, {"Retry-After": _seconds(wait)})
        try:
            if direct:
                time.sleep(faults.latency_ms / 1000)
            if self._chance(faults.rate_429):
                self._throttle.throttle(key, faults.retry_after, "Please retry again later.")
                self._count("throttled")
                raise _Denied(429, "TooManyRequests", "Please retry again later.",
                              {"Retry-After": _seconds(faults.retry_after)})
            if self._chance(faults.rate_503):
                raise _Denied(503, "ServiceUnavailable", "Service temporarily unavailable, please retry.",
                              {"Retry-After": _seconds(faults.retry_after)})
            if self._chance(faults.rate_504):
                raise _Denied(504, "GatewayTimeout", "The request timed out.")
            return self._mail(target, prefix, [s.lower() for s in rest], rest, query, headers)
        except StoreError as exc:
            raise _Denied(exc.status, exc.code, str(exc)) from None
        finally:
            if direct:
                self._throttle.release(key)

    def _profile(self, reader: SandboxUser, segments: list[str]) -> Reply:
        user = reader if segments[0].lower() == "me" else self.directory.user(segments[1])
        if user is None or user.tenant_id != reader.tenant_id:
            raise _Denied(404, "Request_ResourceNotFound",
                          f"Resource '{segments[-1]}' does not exist or one of its queried reference-property "
                          "objects are not present.")
        given, _, surname = user.display_name.partition(" ")
        return Reply(200, {
            "@odata.context": f"{self.base_url}/$metadata#users/$entity",
            "businessPhones": [], "displayName": user.display_name, "givenName": given or None,
            "jobTitle": None, "mail": user.upn if user.mail_enabled else None, "mobilePhone": None,
            "officeLocation": None, "preferredLanguage": "en-US", "surname": surname or None,
            "userPrincipalName": user.upn, "id": user.object_id,
        })

    def _mail(
        self, target: SandboxUser, prefix: str, lowered: list[str], rest: list[str], query: str, headers: dict[str, str]
    ) -> Reply:
        params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        prefs = _prefer([headers.get("prefer", "")])
        applied: list[str] = []
        immutable = prefs.get("idtype", "").lower() == "immutableid"
        if immutable:
            applied.append('IdType="ImmutableId"')
        text_body = prefs.get("outlook.body-content-type", "").lower() == "text"
        if text_body:
            applied.append('outlook.body-content-type="text"')
        select = tuple(s.strip() for s in params["$select"].split(",") if s.strip()) if "$select" in params else None
        box = self.store.mailbox(target.upn)
        if lowered == ["mailfolders"]:
            with self.store.lock:
                value = [self._folder_json(box, f) for f in box.folders.values()]
            return Reply(200, {"@odata.context": f"{self.base_url}/$metadata#Collection(mailFolder)", "value": value})
        if len(lowered) == 2 and lowered[0] == "mailfolders":
            with self.store.lock:
                return Reply(200, self._folder_json(box, box.folder(rest[1])))
        if len(lowered) == 4 and lowered[0] == "mailfolders" and lowered[2:] == ["messages", "delta"]:
            return self._delta(target, prefix, rest[1], params, prefs, applied, select, immutable, text_body)
        message_id = ""
        if len(lowered) == 2 and lowered[0] == "messages":
            message_id = rest[1]
        elif len(lowered) == 4 and lowered[0] == "mailfolders" and lowered[2] == "messages":
            message_id = rest[3]
        if not message_id:
            raise _Denied(400, "BadRequest", f"Resource not found for the segment '{rest[0] if rest else ''}'.")
        with self.store.lock:
            stored = box.message(message_id)
            if len(lowered) == 4 and box.folder(rest[1]).id != stored.folder_id:
                raise StoreError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
            data = render(stored, select=select, immutable_ids=immutable, text_body=text_body)
        context = f"{self.base_url}/$metadata#users('{quote(target.upn)}')/messages"
        data = {"@odata.context": context + ("/$entity" if select is None else f"({','.join(select)})/$entity"),
                **data}
        return Reply(200, data, {"Preference-Applied": ", ".join(applied)} if applied else {})

    def _folder_json(self, box: Any, folder: Any) -> dict[str, Any]:
        total = len(folder.members)
        unread = sum(1 for m in folder.members if not box.messages[m].data.get("isRead"))
        return {"id": folder.id, "displayName": folder.display_name, "parentFolderId": "", "childFolderCount": 0,
                "unreadItemCount": unread, "totalItemCount": total, "isHidden": False}

    def _delta(
        self,
        target: SandboxUser,
        prefix: str,
        folder_key: str,
        params: dict[str, str],
        prefs: dict[str, str],
        applied: list[str],
        select: tuple[str, ...] | None,
        immutable: bool,
        text_body: bool,
    ) -> Reply:
        page_size = 10
        try:
            if "odata.maxpagesize" in prefs:
                page_size = int(prefs["odata.maxpagesize"])
                applied.append(f"odata.maxpagesize={page_size}")
            elif "$top" in params:
                page_size = int(params["$top"])
        except ValueError:
            raise _Denied(400, "BadRequest", "The page size must be a whole number.") from None
        page_size = min(max(page_size, 1), 1000)
        token = params.get("$deltatoken") or params.get("$skiptoken")
        if token:
            state = DeltaState.decode(token)
            if state.folder_id != self.store.mailbox(target.upn).folder(folder_key).id:
                raise _Denied(400, "BadRequest", "The token does not belong to this folder.")
            if "$deltatoken" in params and self._chance(self.faults.expired_delta_rate):
                raise _Denied(410, "SyncStateNotFound", "The sync state generation is not found; "
                              f"generation={state.generation};[highest={state.generation + 1}]")
        else:
            received_ge = None
            if "$filter" in params:
                match = _FILTER.match(params["$filter"])
                try:
                    received_ge = iso(parse_iso(match.group(2))) if match else None
                except ValueError:
                    received_ge = None
                if received_ge is None:
                    raise _Denied(400, "BadRequest", "Only '$filter=receivedDateTime ge {date}' is supported "
                                  "with delta queries on messages.")
            state = self.store.start_delta(target.upn, folder_key, select=select, received_ge=received_ge)
        page = self.store.delta(target.upn, state, page_size=page_size, immutable_ids=immutable, text_body=text_body)
        link = f"{self.base_url}/{prefix}/mailFolders('{state.folder_id}')/messages/delta?"
        body: dict[str, Any] = {"@odata.context": f"{self.base_url}/$metadata#Collection(message)"}
        if page.skip_token:
            body["@odata.nextLink"] = link + "$skiptoken=" + page.skip_token
        else:
            body["@odata.deltaLink"] = link + "$deltatoken=" + page.delta_token
        body["value"] = page.items
        self._count("delta")
        return Reply(200, body, {"Preference-Applied": ", ".join(applied)} if applied else {})

    def _batch(self, user: SandboxUser, scopes: set[str], raw: bytes) -> Reply:
        self._count("batches")
        try:
            payload = json.loads(raw or b"null")
            requests = payload["requests"]
            if not isinstance(requests, list) or not all(isinstance(r, dict) for r in requests):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise _Denied(400, "BadRequest", "Invalid batch payload: expected {\"requests\": [...]}.") from None
        if not requests:
            raise _Denied(400, "BadRequest", "Invalid batch payload: the batch has no requests.")
        if len(requests) > MAX_BATCH:
            raise _Denied(400, "BadRequest", f"Invalid batch payload: at most {MAX_BATCH} requests in one batch.")
        ids = [str(r.get("id", "")).lower() for r in requests]
        if "" in ids or len(set(ids)) != len(ids):
            raise _Denied(400, "BadRequest", "Invalid batch payload: every request needs a unique id.")
        # Graph runs at most 4 inner requests against Outlook at once.
        time.sleep(self.faults.latency_ms / 1000 * math.ceil(len(requests) / 4))
        statuses: dict[str, int] = {}
        responses = []
        for request in requests:
            rid = str(request["id"])
            self._count("inner")
            depends = [str(d).lower() for d in request.get("dependsOn") or []]
            if any(statuses.get(d, 424) >= 400 for d in depends):
                reply = Reply(424, {"code": "FailedDependency", "message": "A request it depends on failed."})
            else:
                reply = self._inner(user, scopes, request)
            statuses[rid.lower()] = reply.status
            headers = {"Content-Type": JSON_TYPE, **reply.headers}
            body = reply.body if reply.status < 400 else {
                "error": {**reply.body, "innerError": {"date": iso(datetime.now(UTC)), "request-id": str(uuid.uuid4()),
                                                       "client-request-id": str(uuid.uuid4())}}}
            self._count(f"inner:{reply.status}")
            responses.append({"id": rid, "status": reply.status, "headers": headers, "body": body})
        with self._rng_lock:
            self._rng.shuffle(responses)  # "in any order": clients must match by id
        return Reply(200, {"responses": responses})

    def _inner(self, user: SandboxUser, scopes: set[str], request: dict[str, Any]) -> Reply:
        url = str(request.get("url") or "")
        method = str(request.get("method") or "GET").upper()
        if not url or "://" in url:
            return Reply(400, {"code": "BadRequest", "message": "A batch request URL must be relative."})
        parts = urlsplit(url if url.startswith("/") else "/" + url)
        headers = {str(k).lower(): str(v) for k, v in (request.get("headers") or {}).items()}
        try:
            return self._call(user, scopes, method, _segments(parts.path), parts.query, headers, direct=False)
        except _Denied as exc:
            return Reply(exc.status, {"code": exc.code, "message": str(exc)}, exc.headers)

    # --- control API ----------------------------------------------------------------------
    def control(self, method: str, target: str, body: bytes) -> Reply:
        parts = urlsplit(target)
        segments = _segments(parts.path)[1:]
        params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError:
            return Reply(400, {"code": "BadRequest", "message": "The body is not valid JSON."})
        try:
            return self._control(method, segments, params, data)
        except KeyError as exc:
            return Reply(404, {"code": "NotFound", "message": str(exc.args[0])})
        except StoreError as exc:
            return Reply(exc.status, {"code": exc.code, "message": str(exc)})
        except (TypeError, ValueError) as exc:
            return Reply(400, {"code": "BadRequest", "message": str(exc)})

    def _control(self, method: str, segs: list[str], params: dict[str, str], data: Any) -> Reply:
        if segs in (["faults"], ["limits"]):
            current = self.faults if segs == ["faults"] else self.limits
            if method == "PUT":
                if not isinstance(data, dict):
                    raise ValueError("expected a JSON object of knobs")
                known = {f.name for f in dataclasses.fields(current)}
                unknown = sorted(set(data) - known)
                if unknown:
                    raise ValueError(f"unknown knob(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
                current = self.set_faults(**data) if segs == ["faults"] else self.set_limits(**data)
            elif method != "GET":
                raise ValueError(f"{method} is not supported here; use GET or PUT")
            return Reply(200, dataclasses.asdict(current))
        if segs == ["stats"]:
            if method == "DELETE":
                self.reset_stats()
                return Reply(204, b"")
            return Reply(200, self.stats())
        if segs == ["expire-delta-tokens"] and method == "POST":
            self.expire_delta_tokens((data or {}).get("address") if isinstance(data, dict) else None)
            return Reply(204, b"")
        if len(segs) >= 3 and segs[0] == "mailboxes" and segs[2] == "messages":
            address = segs[1]
            if len(segs) == 3 and method == "POST":
                return Reply(201, self.add_message(address, data, params.get("folder", "inbox")))
            if len(segs) == 4 and method == "DELETE":
                self.delete_message(address, segs[3])
                return Reply(204, b"")
            if len(segs) == 4 and method == "PATCH":
                return Reply(200, self.update_message(address, segs[3], data))
            if len(segs) == 5 and segs[4] == "move" and method == "POST":
                destination = data.get("destinationId") if isinstance(data, dict) else None
                if not destination:
                    raise ValueError("move needs {\"destinationId\": \"<folder id or well-known name>\"}")
                return Reply(200, self.move_message(address, segs[3], str(destination)))
        raise KeyError(f"unknown control call: {method} /_sandbox/{'/'.join(segs)}")


def _handler_for(sandbox: GraphSandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "GraphSandbox/1.0"
        timeout = 60  # idle keep-alive connections are closed after this

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (http.server's name)
            log.debug("%s %s", self.address_string(), format % args)

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length > 0 else b""

        def _send(self, reply: Reply) -> None:
            request_id = str(uuid.uuid4())
            client_request_id = self.headers.get("client-request-id") or str(uuid.uuid4())
            body = reply.body
            if reply.status >= 400 and isinstance(body, dict) and "code" in body:
                body = error_envelope(body["code"], body.get("message", ""), request_id, client_request_id)
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if reply.status != 204:
                self.send_header("Content-Type", JSON_TYPE)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("request-id", request_id)
            self.send_header("client-request-id", client_request_id)
            self.send_header("x-ms-ags-diagnostic", '{"ServerInfo":{"DataCenter":"Sandbox","Slice":"E",'
                             '"Ring":"0","ScaleUnit":"000","RoleInstance":"graph-sandbox"}}')
            self.send_header("Strict-Transport-Security", "max-age=31536000")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if data:
                self.wfile.write(data)

        def _route(self, method: str) -> None:
            body = self._body()
            path = urlsplit(self.path).path
            if path.startswith("/_sandbox/") or path == "/_sandbox":
                if not is_loopback_host(self.client_address[0]):
                    self._send(Reply(403, {"code": "Forbidden", "message": "sandbox control calls are loopback-only"}))
                else:
                    self._send(sandbox.control(method, self.path, body))
                return
            if not (path == "/v1.0" or path.startswith("/v1.0/")):
                self._send(Reply(404, {"code": "BadRequest", "message": "Invalid version: use /v1.0."}))
                return
            headers: dict[str, str] = {}
            for name, value in self.headers.items():  # repeated headers (Prefer) combine with commas
                key = name.lower()
                headers[key] = f"{headers[key]}, {value}" if key in headers else value
            reply = sandbox.handle(method, self.path, headers, body)
            if reply is DROP:
                self.close_connection = True
                return
            assert isinstance(reply, Reply)
            self._send(reply)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self._route("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._route("POST")

        def do_PUT(self) -> None:  # noqa: N802
            self._route("PUT")

        def do_PATCH(self) -> None:  # noqa: N802
            self._route("PATCH")

        def do_DELETE(self) -> None:  # noqa: N802
            self._route("DELETE")

    return Handler
