"""Microsoft Graph mail on requests: delta pages per folder, JSON batching, throttling, named errors.

Delta query is per folder: the first request of a round carries the query (``$select`` of what
the detectors need, including ``internetMessageHeaders``; a ``receivedDateTime`` look-back), and
every later request is an ``@odata.nextLink`` / ``@odata.deltaLink`` followed verbatim. Links are
followed only under the configured endpoint (same scheme, host, port and version root), so a
token is never sent anywhere else.

Polling many mailboxes goes through ``$batch`` (at most 20 requests each), which makes an idle
poll cost a twentieth of a request per folder. Inner responses are matched by id; inner 429s
and 5xx are resent, as a subset, after their own Retry-After.

Throttling: Retry-After is honoured (it may be a decimal), 5xx, timeouts, dropped connections
and unparsable bodies are retried with jittered exponential back-off, and at most 4 requests
are in flight per mailbox under a global cap (``[graph] max_concurrency``). A 401 gets one forced
token refresh, then :class:`~monitor.errors.GraphError`; 403 and 404 mailbox codes raise
:class:`~monitor.errors.MailboxUnreadable`; 410 raises :class:`~monitor.errors.SyncStateLost`.

Nothing here logs a token, a message body or a delta token.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter

from monitor.config import GraphSettings
from monitor.errors import AuthError, GraphError, MailboxUnreadable, SyncStateLost
from monitor.http import Session

log = logging.getLogger(__name__)

# What the detectors read. internetMessageHeaders comes only when selected.
SELECT = (
    "id",
    "internetMessageId",
    "conversationId",
    "subject",
    "bodyPreview",
    "body",
    "from",
    "sender",
    "replyTo",
    "toRecipients",
    "ccRecipients",
    "receivedDateTime",
    "sentDateTime",
    "hasAttachments",
    "internetMessageHeaders",
    "webLink",
    "inferenceClassification",
    "parentFolderId",
    "isDraft",
)
MAX_BATCH = 20
PER_MAILBOX_CONCURRENCY = 4
RETRYABLE = frozenset({429, 500, 502, 503, 504})
SYNC_LOST_CODES = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid"})
UNREADABLE_404_CODES = frozenset(
    {"mailboxnotenabledforrestapi", "errorinvaliduser", "resourcenotfound", "request_resourcenotfound",
     "errornonexistentmailbox"}
)

K = TypeVar("K", bound=Hashable)


@dataclass
class Page:
    """One delta page: the items, and either the next link or the delta link (round complete)."""

    items: list[dict[str, Any]]
    next_link: str = ""
    delta_link: str = ""

    @property
    def link(self) -> str:
        return self.next_link or self.delta_link


@dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON, or None when there was none or it did not parse


class Credential:
    """One tenant's bearer token for a scan, with at most one forced refresh.

    ``fetch(force_refresh)`` returns an access token (and may raise AuthError/ReconnectNeeded).
    Shared by the threads scanning the tenant: when several see a 401 for the same token, one
    refreshes and the others use its result.
    """

    def __init__(self, fetch: Callable[[bool], str]) -> None:
        self._fetch = fetch
        self._token = ""
        self._refreshed = False
        self._failure: Exception | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<Credential refreshed={self._refreshed}>"  # never the token

    def token(self) -> str:
        with self._lock:
            if self._failure is not None:
                raise self._failure  # asked once per scan: a tenant that cannot sign in fails fast
            if not self._token:
                try:
                    self._token = self._fetch(False)
                except AuthError as exc:
                    self._failure = exc
                    raise
            return self._token

    def refresh(self, rejected: str) -> str:
        """A new token after ``rejected`` got a 401; GraphError when a refresh was already spent."""
        with self._lock:
            if self._token and self._token != rejected:
                return self._token
            if self._refreshed:
                raise GraphError(
                    "Microsoft Graph rejected the access token even after a refresh "
                    "(401 InvalidAuthenticationToken); check the tenant's connection",
                    status=401,
                    code="InvalidAuthenticationToken",
                )
            self._refreshed = True
            try:
                self._token = self._fetch(True)
            except AuthError as exc:
                self._failure = exc
                raise
            return self._token


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: a (possibly decimal) number or an HTTP date."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = (moment - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if seconds == seconds else None  # NaN is no answer


def redact(url: str) -> str:
    """A URL for logs and errors: the path only (query strings carry delta tokens)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme else parts.path


def error_from(status: int, body: Any, where: str = "") -> GraphError:
    """The named exception for a Graph error answer (branching on the code, never the message)."""
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = str(error.get("code") or "")
    message = " ".join(str(error.get("message") or "").split())[:200]
    named = f"{status} {code}".strip()
    suffix = f" ({where})" if where else ""
    lowered = code.lower()
    if status == 410 or lowered in SYNC_LOST_CODES:
        return SyncStateLost(f"Graph dropped the sync state ({named}){suffix}", status=status, code=code)
    if status == 403:
        return MailboxUnreadable(
            f"access denied ({named}): the mailbox is not shared with the signed-in user, or the consent "
            f"lacks Mail.Read / Mail.Read.Shared{suffix}",
            status=status,
            code=code,
        )
    if status == 404 and lowered in UNREADABLE_404_CODES:
        why = ("it has no Exchange Online mailbox (inactive, soft-deleted, unlicensed or on-premises)"
               if lowered == "mailboxnotenabledforrestapi" else "no such user or mailbox")
        return MailboxUnreadable(f"mailbox cannot be read ({named}): {why}{suffix}", status=status, code=code)
    if status == 404:
        return GraphError(f"not found ({named}): {message or 'no such folder or item'}{suffix}", status=status, code=code)
    return GraphError(f"Microsoft Graph answered {named}: {message or 'no details'}{suffix}", status=status, code=code)


def mailbox_path(address: str, graph_user_id: str = "", *, own: bool = False) -> str:
    """``me`` for the signed-in user's own mailbox, else ``users/{id or address}``."""
    if own and not graph_user_id:
        return "me"
    return "users/" + quote(graph_user_id or address, safe="@")


class GraphClient:
    """Thread-safe Graph mail client. ``sleep`` and ``rand`` are injectable so tests need not wait."""

    def __init__(
        self,
        settings: GraphSettings,
        *,
        session: requests.Session | None = None,
        ca_bundle: str = "",
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        max_attempts: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_wait: float = 120.0,
    ) -> None:
        self.settings = settings
        self.endpoint = settings.endpoint.rstrip("/")
        parts = urlsplit(self.endpoint)
        self._origin = _origin(self.endpoint)
        self._root = parts.path.rstrip("/")
        self.session = session or Session(ca_bundle=ca_bundle)
        if session is None:
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(10, settings.max_concurrency))
            self.session.mount("http://", adapter)
            self.session.mount("https://", adapter)
        self.sleep = sleep
        self.rand = rand
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_wait = max_wait  # a longer Retry-After gives up now; the next poll tries again
        self.prefer = (
            f'outlook.body-content-type="text", IdType="ImmutableId", odata.maxpagesize={settings.page_size}'
        )
        self._slots = threading.BoundedSemaphore(settings.max_concurrency)
        self._mailbox_slots: dict[str, threading.BoundedSemaphore] = {}
        self._slots_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self.requests_sent = 0

    # --- URLs ------------------------------------------------------------------------------
    def delta_url(self, path: str, folder: str, since: datetime) -> str:
        """The first request of a folder's delta round, bounded by ``receivedDateTime ge since``."""
        since = since.replace(tzinfo=UTC) if since.tzinfo is None else since.astimezone(UTC)
        query = {"$select": ",".join(SELECT), "$filter": f"receivedDateTime ge {since:%Y-%m-%dT%H:%M:%SZ}"}
        return (
            f"{self.endpoint}/{path}/mailFolders/{quote(folder, safe='')}/messages/delta?"
            + urlencode(query, quote_via=quote, safe="$,:")
        )

    def is_own_link(self, url: str) -> bool:
        """True when ``url`` is under the configured endpoint (scheme, host, port, version root)."""
        try:
            parts = urlsplit(url)
            return _origin(url) == self._origin and (
                parts.path.lower() == self._root.lower() or parts.path.lower().startswith(self._root.lower() + "/")
            )
        except ValueError:
            return False

    def check_link(self, url: str) -> str:
        if not isinstance(url, str) or not self.is_own_link(url):
            shown = redact(url) if isinstance(url, str) else repr(type(url))
            raise GraphError(
                f"Graph returned a link outside the configured endpoint {self.endpoint} ({shown}); "
                "not following it, so the token is not sent there",
                code="ForeignLink",
            )
        return url

    def _relative(self, url: str) -> str:
        parts = urlsplit(self.check_link(url))
        rest = parts.path[len(self._root):] or "/"
        return rest + (f"?{parts.query}" if parts.query else "")

    # --- single requests -------------------------------------------------------------------
    def get_page(self, url: str, credential: Credential, *, mailbox: str = "") -> Page:
        """One delta page (retried as needed); raises the named GraphError on failure."""
        reply = self._send("GET", self.check_link(url), credential, mailbox=mailbox)
        if reply.status != 200:
            raise error_from(reply.status, reply.body, redact(url))
        return self._page(reply.body, url)

    def iter_delta(self, url: str, credential: Credential, *, mailbox: str = "") -> Iterator[Page]:
        """Pages of one round, following next links until the delta link arrives."""
        while True:
            page = self.get_page(url, credential, mailbox=mailbox)
            yield page
            if not page.next_link:
                return
            url = page.next_link

    def get_json(self, url: str, credential: Credential, *, mailbox: str = "") -> Any:
        reply = self._send("GET", self.check_link(url), credential, mailbox=mailbox)
        if reply.status != 200:
            raise error_from(reply.status, reply.body, redact(url))
        return reply.body

    def _page(self, body: Any, url: str) -> Page:
        if not isinstance(body, dict) or not isinstance(body.get("value"), list):
            raise GraphError(f"Graph answered a delta request without a 'value' list ({redact(url)})")
        next_link = body.get("@odata.nextLink") or ""
        delta_link = body.get("@odata.deltaLink") or ""
        if not next_link and not delta_link:
            raise GraphError(f"Graph answered a delta page with neither a next nor a delta link ({redact(url)})")
        if next_link:
            self.check_link(next_link)
        else:
            self.check_link(delta_link)
        items = [item for item in body["value"] if isinstance(item, dict)]
        return Page(items, next_link=next_link if next_link else "", delta_link="" if next_link else delta_link)

    def _backoff(self, attempt: int) -> float:
        # "Equal jitter": at least half the exponential step, so retries spread but still back off.
        step = min(self.max_backoff, self.backoff * (2**attempt))
        return step / 2 + step / 2 * self.rand()

    @contextmanager
    def _slot(self, mailbox: str) -> Iterator[None]:
        per_mailbox = None
        if mailbox:
            with self._slots_lock:
                per_mailbox = self._mailbox_slots.setdefault(
                    mailbox.lower(), threading.BoundedSemaphore(PER_MAILBOX_CONCURRENCY)
                )
            per_mailbox.acquire()
        try:
            with self._slots:
                yield
        finally:
            if per_mailbox is not None:
                per_mailbox.release()

    def _send(
        self, method: str, url: str, credential: Credential, *, mailbox: str = "", payload: Any = None
    ) -> Reply:
        """One request with retries for throttling, 5xx, transport failures and broken bodies,
        and one token refresh on 401. Returns the final answer (any status) or raises GraphError."""
        attempt = 0
        while True:
            token = credential.token()
            headers = {
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "Prefer": self.prefer,
                "client-request-id": str(uuid.uuid4()),
            }
            problem, status, wait = "", 0, None
            try:
                with self._slot(mailbox):
                    with self._count_lock:
                        self.requests_sent += 1
                    response = self.session.request(
                        method, url, headers=headers, json=payload, timeout=self.settings.timeout_seconds
                    )
                    raw = response.content
            except requests.RequestException as exc:
                # Connection refused or dropped, timeouts, replies cut short: all worth a retry.
                problem = f"{type(exc).__name__} talking to Graph"
                status = 0
            else:
                status = response.status_code
                reply_headers = {k.lower(): v for k, v in response.headers.items()}
                body = _json(raw)
                if status == 401:
                    log.info("Graph answered 401 for %s; refreshing the token once", redact(url))
                    credential.refresh(token)
                    continue
                if status in RETRYABLE:
                    wait = parse_retry_after(reply_headers.get("retry-after"))
                    code = error_from(status, body).code
                    problem = f"{status} {code}".strip()
                elif status < 300 and body is None and raw.strip():
                    problem = "an unparsable answer"
                else:
                    return Reply(status, reply_headers, body)
            if wait is None:
                wait = self._backoff(attempt)
            attempt += 1
            if attempt >= self.max_attempts or wait > self.max_wait:
                raise GraphError(
                    f"Graph kept failing ({problem}) after {attempt} attempt(s) ({redact(url)}); will retry next poll",
                    status=status,
                    code="Throttled" if status == 429 else "Unavailable",
                )
            log.debug("Graph %s on %s; retrying in %.2fs", problem, redact(url), wait)
            self.sleep(wait)

    # --- $batch ----------------------------------------------------------------------------
    def get_pages(self, urls: Mapping[K, str], credential: Credential) -> dict[K, Page | GraphError]:
        """Delta pages for many links (one tenant's token), 20 to a ``$batch`` request.

        Every key gets a Page or the GraphError that ended it; nothing raises for one key's failure.
        Token trouble (AuthError from the credential) propagates.
        """
        keys = list(urls)
        results: dict[K, Page | GraphError] = {}
        for start in range(0, len(keys), MAX_BATCH):
            results.update(self._batch({k: urls[k] for k in keys[start:start + MAX_BATCH]}, credential))
        return results

    def _batch(self, urls: Mapping[K, str], credential: Credential) -> dict[K, Page | GraphError]:
        results: dict[K, Page | GraphError] = {}
        pending: dict[str, K] = {}
        relative: dict[str, str] = {}
        for index, key in enumerate(urls, start=1):
            try:
                relative[str(index)] = self._relative(urls[key])
                pending[str(index)] = key
            except GraphError as exc:
                results[key] = exc
        rounds = 0
        while pending:
            payload = {
                "requests": [
                    {"id": rid, "method": "GET", "url": relative[rid], "headers": {"Prefer": self.prefer}}
                    for rid in pending
                ]
            }
            token = credential.token()
            try:
                reply = self._send("POST", f"{self.endpoint}/$batch", credential, payload=payload)
            except GraphError as exc:
                results.update({key: exc for key in pending.values()})
                return results
            answers = _batch_answers(reply)
            if answers is None:
                failure = error_from(reply.status, reply.body, "$batch")
                results.update({key: failure for key in pending.values()})
                return results
            retry: dict[str, K] = {}
            waits: list[float] = []
            refresh = False
            last_problem, last_status = "", 0
            for rid, key in pending.items():
                answer = answers.get(rid)
                status = _int(answer.get("status")) if answer else 0
                headers = {str(k).lower(): str(v) for k, v in (answer.get("headers") or {}).items()} if answer else {}
                body = answer.get("body") if answer else None
                if status == 200:
                    try:
                        results[key] = self._page(body, urls[key])
                    except GraphError as exc:
                        results[key] = exc
                elif status == 401:
                    refresh = True
                    retry[rid] = key
                elif status in RETRYABLE or status == 0:
                    retry[rid] = key
                    waits.append(parse_retry_after(headers.get("retry-after")) or self._backoff(rounds))
                    last_problem = f"{status or 'no answer'} {error_from(status, body).code}".strip()
                    last_status = status
                else:
                    results[key] = error_from(status, body, redact(urls[key]))
            rounds += 1
            pending = retry
            if not pending:
                break
            wait = max(waits, default=0.0)
            if rounds >= self.max_attempts or wait > self.max_wait:
                failure = GraphError(
                    f"Graph kept failing inside $batch ({last_problem or '401'}) after {rounds} attempt(s); "
                    "will retry next poll",
                    status=last_status,
                    code="Throttled" if last_status == 429 else "Unavailable",
                )
                results.update({key: failure for key in pending.values()})
                break
            if refresh:
                try:
                    credential.refresh(token)
                except GraphError as exc:
                    results.update({key: exc for key in pending.values()})
                    break
            if wait:
                log.debug("retrying %d request(s) of a $batch in %.2fs", len(pending), wait)
                self.sleep(wait)
        return results


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"https": 443, "http": 80}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def _json(raw: bytes) -> Any:
    if not raw or not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _batch_answers(reply: Reply) -> dict[str, dict[str, Any]] | None:
    """Inner answers by id (case-insensitive, as Graph treats ids), or None if this is no batch answer."""
    if reply.status != 200 or not isinstance(reply.body, dict):
        return None
    responses = reply.body.get("responses")
    if not isinstance(responses, list):
        return None
    return {str(r.get("id")).lower(): r for r in responses if isinstance(r, dict)}
