"""Slack: Block Kit alerts through slack_sdk's WebClient, and the start-up check.

Everything taken from an email is written by a stranger. It is cleaned of control and invisible
characters (:func:`alerts.outbox.clean`), truncated, then escaped (``&``, ``<``, ``>``: Slack's
only control characters) and sent in ``verbatim`` mrkdwn with unfurling off, so ``<!channel>``
pings nobody and ``<https://evil|Microsoft>`` is text, not a link. Truncation happens before
escaping and every Block Kit limit is kept (header 150, section 3000, field 2000, 10 fields,
50 blocks), so a 10,000-character subject cannot make Slack refuse the alert.

Posting is not idempotent, so the client retries only what cannot have reached Slack (refused
connections, short rate-limit waits); everything else is handed back to the outbox as
:class:`~alerts.outbox.Deferred` (look up, then retry with back-off) or
:class:`~alerts.outbox.Undeliverable` (dead letter with the reason).
"""

from __future__ import annotations

import http.client
import logging
import re
import socket
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.web import SlackResponse

from alerts.outbox import Deferred, Found, Item, Post, Undeliverable, label_title
from monitor.config import SLACK_TOKEN_ENV, Settings, secret
from monitor.errors import ConfigError
from monitor.http import is_loopback

log = logging.getLogger(__name__)

HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
MAX_FIELDS = 10
MAX_BLOCKS = 50
URL_LIMIT = 3000
LISTED = 20  # mailboxes or alerts listed in one message; the review log has the rest

# Failures that say nothing about the message: try again later.
TRANSIENT = {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
# The token itself is refused: every post would fail the same way.
TOKEN_ERRORS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
                "no_permission", "ekm_access_denied", "org_login_required"}
METADATA_EVENT = "outreach_monitor_alert"
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")


# --- escaping --------------------------------------------------------------------------------


def escape(text: str) -> str:
    """Slack's three control characters, ``&`` first (entities other than these show literally)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(raw: str, limit: int, *, chars: int | None = None) -> str:
    """``raw`` escaped, cut before escaping (with an ellipsis) to ``chars`` characters and so the
    escaped result is at most ``limit`` long, whatever the text holds."""
    if chars is not None and len(raw) > chars:
        raw = raw[: max(0, chars - 1)].rstrip() + "…"
    escaped = escape(raw)
    if len(escaped) <= limit:
        return escaped
    out: list[str] = []
    used = 0
    for ch in raw:
        piece = escape(ch)
        if used + len(piece) > limit - 1:
            break
        out.append(piece)
        used += len(piece)
    return "".join(out) + "…"


def _md(text: str) -> dict[str, Any]:
    # verbatim: no auto-linking of bare URLs, #channels or @names found in the text.
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _md(text[:SECTION_LIMIT])}


def _link(url: str, label: str) -> str:
    """A mrkdwn link for an http(s) URL, or "" for anything else; ``|``, ``<``, ``>`` and spaces
    in the URL are percent-encoded so it cannot close the link or relabel it."""
    if not isinstance(url, str) or len(url) > URL_LIMIT:
        return ""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    safe = quote(url.strip(), safe="/:?#[]@!$&'()*+,;=%~-._")
    return f"<{safe.replace('&', '&amp;')}|{escape(label)}>"


def _received(item: Item) -> str:
    return fit(item.received, 100) or "—"


def _sender(item: Item, chars: int = 200) -> str:
    name, address = item.text("sender_name"), item.text("sender_address")
    raw = f"{name} <{address}>" if name and address else name or address or "unknown sender"
    return fit(raw, 1000, chars=chars)


def _title(item: Item) -> str:
    label = item.text("label")
    return label_title(label)


def _review(review_url: str, item: Item) -> str:
    detection = item.detection_id
    return _link(f"{review_url}/detections/{detection}", f"Review log #{detection}") if detection else ""


def _links(review_url: str, item: Item) -> str:
    links = [_review(review_url, item), _link(item.text("web_link"), "Open in Outlook")]
    return " · ".join(link for link in links if link)


def _mailboxes(items: Iterable[Item]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        if item.mailbox:
            seen.setdefault(item.mailbox.lower(), None)
    return list(seen)


# --- rendering -------------------------------------------------------------------------------


def render(post: Post, review_url: str) -> tuple[str, list[dict[str, Any]]]:
    """The ``text`` fallback and the blocks for ``post``, within Slack's limits."""
    renderer = {"campaign": _campaign, "reply": _reply, "digest": _digest, "tenant_health": _health}[post.kind]
    text, blocks = renderer(post, review_url.rstrip("/"))
    return text, blocks[:MAX_BLOCKS]


def _campaign(post: Post, review_url: str) -> tuple[str, list[dict[str, Any]]]:
    lead = post.items[0]
    title = _title(lead)
    mailbox = lead.mailbox or "unknown mailbox"
    score = lead.number("score")
    more = f" (+{post.total - 1} more)" if post.total > 1 else ""
    fields = [
        _md("*Mailbox*\n" + fit(mailbox, 1000, chars=200) + more),
        _md("*From*\n" + _sender(lead)),
        _md("*Vendor*\n" + (fit(lead.text("vendor"), 1000, chars=100) or "—")),
        _md("*Received*\n" + _received(lead)),
        _md("*Subject*\n" + (fit(lead.text("subject"), 1900, chars=300) or "(no subject)")),
        _md("*Score*\n" + (f"{score:.2f}" if score is not None else "—") + " · " + fit(title, 100)),
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": fit(f"{title} · {post.tenant}", HEADER_LIMIT),
                                    "emoji": False}},
        {"type": "section", "fields": fields[:MAX_FIELDS]},
    ]
    reasons = lead.reasons()
    if reasons:
        lines = [
            "• " + fit(description, 600, chars=200) + (f" — “{fit(evidence, 1600, chars=300)}”" if evidence else "")
            for description, evidence in reasons
        ]
        blocks.append(_section(fit_lines("*Why it was flagged*", lines)))
    snippet = lead.text("snippet", multiline=True)
    if snippet:
        quoted = "\n".join(">" + line for line in fit(snippet, 2400, chars=500).split("\n"))
        blocks.append(_section("*Snippet*\n" + quoted))
    if post.total > 1:
        mailboxes = _mailboxes(post.items)
        shown = [fit(m, 120, chars=80) for m in mailboxes[:LISTED]]
        rest = post.total - len(shown)
        listing = ", ".join(shown) + (f" and {rest} more" if rest > 0 else "")
        blocks.append(_section(f"*Received by {post.total} mailboxes*\n{listing}"))
    context = [_md(f"alert {lead.alert_id}" + (f" · detection {lead.detection_id}" if lead.detection_id else ""))]
    links = _links(review_url, lead)
    if links:
        context.insert(0, _md(links))
    blocks.append({"type": "context", "elements": context})
    who = lead.text("sender_name") or lead.text("sender_address") or "unknown sender"
    summary = f"{title} at {post.tenant}: {who} to {mailbox}{more}: {lead.text('subject') or '(no subject)'}"
    return fit(summary, 300), blocks


def fit_lines(heading: str, lines: list[str], limit: int = SECTION_LIMIT) -> str:
    """A heading and as many whole (already escaped) lines as fit in ``limit``."""
    text = heading
    for line in lines:
        if len(text) + 1 + len(line) > limit:
            break
        text += "\n" + line
    return text


def _reply(post: Post, review_url: str) -> tuple[str, list[dict[str, Any]]]:
    n = len(post.items)
    noun = "mailbox" if n == 1 else "mailboxes"
    blocks: list[dict[str, Any]] = [_section(f"*{n} more {noun} received this* ({post.total} in all)")]
    for item in post.items[:LISTED]:
        parts = [fit(item.mailbox or "unknown mailbox", 600, chars=120), _received(item)]
        if item.text("subject"):
            parts.append(fit(item.text("subject"), 1200, chars=150))
        links = _links(review_url, item)
        blocks.append(_section("• " + " · ".join(parts + ([links] if links else []))))
    if n > LISTED:
        blocks.append({"type": "context", "elements": [_md(f"and {n - LISTED} more in the review log")]})
    return fit(f"{n} more {noun} at {post.tenant} received this ({post.total} in all)", 300), blocks


def _digest(post: Post, review_url: str) -> tuple[str, list[dict[str, Any]]]:
    headline = f"{post.total} more alert{'s' if post.total != 1 else ''} for {post.tenant}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": fit(headline, HEADER_LIMIT), "emoji": False}},
        {"type": "context", "elements": [_md(
            "Many alerts reached this channel at once, so they are rolled up here; this message is "
            "updated as more arrive. Each one is in the review log.")]},
    ]
    latest = list(post.items)[-LISTED:]
    for item in reversed(latest):
        parts = [
            "*" + (fit(item.text("vendor"), 300, chars=60) or "Unknown vendor") + "*",
            _sender(item, chars=120),
            fit(item.text("subject") or "(no subject)", 1000, chars=200),
            fit(item.mailbox or "unknown mailbox", 600, chars=120),
        ]
        review = _review(review_url, item)
        blocks.append(_section("• " + " · ".join(parts + ([review] if review else []))))
    return fit(headline, 300), blocks


def _health(post: Post, review_url: str) -> tuple[str, list[dict[str, Any]]]:
    item = post.items[0]
    event = item.text("event")
    reason = item.text("reason")
    command = item.text("command") or f"outreach-monitor connect --tenant {post.tenant}"
    if event == "reconnected":
        headline = f"Reconnected · {post.tenant}"
        body = f"Mail at *{fit(post.tenant, 400, chars=80)}* is being read again."
    else:
        headline = f"Reconnect needed · {post.tenant}"
        body = (f"Mail at *{fit(post.tenant, 400, chars=80)}* can no longer be read"
                + (f": {fit(reason, 1500, chars=300)}" if reason else ".")
                + "\nA person at the customer must sign in again. Run:\n`" + fit(command, 800, chars=160) + "`")
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": fit(headline, HEADER_LIMIT), "emoji": False}},
        _section(body),
    ]
    return fit(headline + (f": {reason}" if reason and event != "reconnected" else ""), 300), blocks


# --- the client --------------------------------------------------------------------------------


class _SafeConnectionRetry(ConnectionErrorRetryHandler):
    """Retries once what cannot have reached Slack (refused, unknown host), and reads; a post
    whose answer was lost is not retried here: the outbox looks it up first."""

    def __init__(self, sleep: Callable[[float], None]) -> None:
        super().__init__(max_retry_count=1)
        self._sleep = sleep

    def _can_retry(self, *, state: Any, request: Any, response: Any = None, error: Exception | None = None) -> bool:
        if error is None or response is not None:
            return False
        reason = getattr(error, "reason", error)
        if isinstance(reason, ConnectionRefusedError | socket.gaierror):
            return True
        method = request.url.rsplit("/", 1)[-1]
        return method.startswith(("auth.", "conversations.")) and super()._can_retry(
            state=state, request=request, response=response, error=error)

    def prepare_for_next_attempt(self, *, state: Any, request: Any, response: Any = None,
                                 error: Exception | None = None) -> None:
        state.next_attempt_requested = True
        self._sleep(0.5)
        state.increment_current_attempt()


class _BriefRateLimitRetry(RateLimitErrorRetryHandler):
    """Waits out a 429 in place only when Slack asks for a second or two; longer waits go back
    to the outbox (no thread sleeps for a minute)."""

    max_wait = 2.0

    def __init__(self, sleep: Callable[[float], None]) -> None:
        super().__init__(max_retry_count=1)
        self._sleep = sleep

    def _can_retry(self, *, state: Any, request: Any, response: Any = None, error: Exception | None = None) -> bool:
        return (response is not None and response.status_code == 429
                and _retry_after(response.headers) <= self.max_wait)

    def prepare_for_next_attempt(self, *, state: Any, request: Any, response: Any = None,
                                 error: Exception | None = None) -> None:
        state.next_attempt_requested = True
        self._sleep(_retry_after(response.headers if response is not None else {}))
        state.increment_current_attempt()


def _retry_after(headers: Any) -> float:
    for key, value in dict(headers or {}).items():
        if key.lower() == "retry-after":
            value = value[0] if isinstance(value, list) else value
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                break
    return 1.0


class _DirectClient(WebClient):
    """A WebClient for a loopback API URL (the fake Slack): never through a proxy. Clearing
    ``proxy`` is not enough, since urllib's default opener reads HTTP(S)_PROXY itself."""

    def _perform_urllib_http_request_internal(self, url: str, req: urllib.request.Request) -> dict[str, Any]:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=self.timeout) as resp:
            charset = resp.headers.get_content_charset() or "utf-8"
            return {"status": resp.code, "headers": resp.headers, "body": resp.read().decode(charset)}


def make_client(settings: Settings, token: str, *, sleep: Callable[[float], None] = time.sleep,
                timeout: int = 15) -> WebClient:
    loopback = is_loopback(settings.slack.api_url)
    client = (_DirectClient if loopback else WebClient)(
        token=token, base_url=settings.slack.api_url, timeout=timeout,
        retry_handlers=[_SafeConnectionRetry(sleep), _BriefRateLimitRetry(sleep)])
    if loopback:
        # slack_sdk takes HTTPS_PROXY from the environment; loopback never goes through a proxy.
        client.proxy = None
    return client


def describe_error(code: str, method: str, channel: str = "") -> str:
    where = f" {channel}" if channel else ""
    if code in TOKEN_ERRORS:
        return (f"{code}: Slack refused the bot token in {SLACK_TOKEN_ENV}; "
                "install the app again or set a new xoxb- token, then `alerts retry`")
    return {
        "channel_not_found": f"channel_not_found: Slack has no channel{where} that the bot can see "
                             "(check the channel setting; invite the bot to a private channel)",
        "not_in_channel": f"not_in_channel: the bot is not a member of channel{where} (in Slack: /invite the bot)",
        "is_archived": f"is_archived: channel{where} is archived",
        "missing_scope": "missing_scope: the bot token lacks the chat:write scope",
        "restricted_action": f"restricted_action: the workspace does not let the bot post in{where}",
        "no_channel": "no_channel: no Slack channel for this alert; set [slack] default_channel "
                      "or the tenant's channel",
    }.get(code, f"{code}: Slack refused {method}{' in' + where if where else ''}")


class _Buckets:
    """A token bucket per channel: about one message a second, short bursts allowed."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self.rate, self.burst, self.clock, self.sleep = rate, burst, clock, sleep
        self._state: dict[str, tuple[float, float]] = {}

    def take(self, channel: str) -> None:
        now = self.clock()
        tokens, stamp = self._state.get(channel, (self.burst, now))
        tokens = min(self.burst, tokens + (now - stamp) * self.rate)
        if tokens < 1:
            wait = (1 - tokens) / self.rate
            self.sleep(wait)
            now, tokens = now + wait, 1.0
        self._state[channel] = (tokens - 1, now)


class SlackSink:
    """Posts, replies in threads, edits and looks up alert messages in Slack."""

    def __init__(self, client: WebClient, *, review_url: str, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, rate: float = 1.0, burst: float = 3) -> None:
        self.client = client
        self.review_url = review_url.rstrip("/")
        self._buckets = _Buckets(rate, burst, clock, sleep)
        self._ids: dict[str, str] = {}

    @classmethod
    def from_settings(cls, settings: Settings, *, token: str | None = None,
                      clock: Callable[[], float] = time.monotonic,
                      sleep: Callable[[float], None] = time.sleep) -> SlackSink:
        token = token or secret(SLACK_TOKEN_ENV)
        if not token:
            raise ConfigError(f"{SLACK_TOKEN_ENV} is not set: no Slack bot token")
        return cls(make_client(settings, token, sleep=sleep), review_url=settings.web.base_url,
                   clock=clock, sleep=sleep)

    def post(self, post: Post) -> tuple[str, str]:
        if not post.channel:
            raise Undeliverable("no_channel", describe_error("no_channel", "chat.postMessage"))
        text, blocks = render(post, self.review_url)
        args: dict[str, Any] = {
            "channel": post.channel, "text": text, "blocks": blocks, "unfurl_links": False, "unfurl_media": False,
            # The marker lets a later attempt find this message if Slack's answer is lost.
            "metadata": {"event_type": METADATA_EVENT,
                         "event_payload": {"marker": post.marker, "alert_ids": ",".join(map(str, post.alert_ids))}},
        }
        if post.thread_ts:
            args["thread_ts"] = post.thread_ts
        self._buckets.take(post.channel)
        response = self._call("chat.postMessage", post.channel, lambda: self.client.chat_postMessage(**args),
                              posting=True)
        return str(response.get("channel") or post.channel), str(response["ts"])

    def update(self, channel: str, ts: str, post: Post) -> None:
        text, blocks = render(post, self.review_url)
        self._buckets.take(channel)
        self._call("chat.update", channel,
                   lambda: self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks))

    def find(self, post: Post) -> Found | None:
        """The message carrying ``post.marker``, from the channel's (or thread's) latest messages.
        None when absent or when the token may not read history (then the alert is posted again:
        at-least-once)."""
        channel = self._channel_id(post.channel)
        if not post.marker or channel is None:
            return None
        try:
            if post.thread_ts:
                response = self._call("conversations.replies", channel, lambda: self.client.conversations_replies(
                    channel=channel, ts=post.thread_ts, include_all_metadata=True, limit=200))
            else:
                response = self._call("conversations.history", channel, lambda: self.client.conversations_history(
                    channel=channel, include_all_metadata=True, limit=200))
        except Undeliverable as exc:
            log.warning("cannot look up earlier posts in %s (%s); posting again", channel, exc.code)
            return None
        except Deferred as exc:
            exc.maybe_sent = True  # still unknown whether the earlier post arrived
            raise
        for message in response.get("messages") or []:
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            if isinstance(payload, dict) and payload.get("marker") == post.marker:
                ids = tuple(int(x) for x in str(payload.get("alert_ids", "")).split(",") if x.strip().isdigit())
                return Found(channel, str(message["ts"]), ids)
        return None

    def _channel_id(self, channel: str) -> str | None:
        if _CHANNEL_ID.match(channel):
            return channel
        if channel not in self._ids:
            try:
                self._ids.update(_channel_ids(self.client))
            except (SlackApiError, OSError, http.client.HTTPException):
                return None
        return self._ids.get(channel.lstrip("#"))

    def _call(self, method: str, channel: str, fn: Callable[[], SlackResponse], *,
              posting: bool = False) -> SlackResponse:
        try:
            return fn()
        except SlackApiError as exc:
            response = exc.response
            status = response.status_code
            code = str(response.get("error") or "") if isinstance(response.data, dict) else ""
            if status == 429 or code == "ratelimited":
                wait = _retry_after(response.headers)
                raise Deferred(f"rate limited by Slack ({method}); retry after {wait:g}s",
                               retry_after=wait, scope="channel") from None
            if status >= 500 or code in TRANSIENT:
                what = f"HTTP {status}" if status != 200 else code
                raise Deferred(f"Slack answered {method} with {what}", maybe_sent=posting) from None
            if status != 200 or code.startswith("Received a response in a non-JSON format"):
                raise Undeliverable(f"http_{status}", f"http_{status}: the Slack API URL answered {method} with "
                                    f"HTTP {status}; check [slack] api_url", whole_sink=True) from None
            raise Undeliverable(code, describe_error(code, method, channel), whole_sink=code in TOKEN_ERRORS) from None
        except (OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            never_sent = isinstance(reason, ConnectionRefusedError | socket.gaierror)
            raise Deferred(f"cannot reach Slack ({type(reason).__name__}: {reason})",
                           maybe_sent=posting and not never_sent) from None


def _channel_ids(client: WebClient) -> dict[str, str]:
    ids: dict[str, str] = {}
    cursor = None
    for _ in range(20):
        response = client.conversations_list(types="public_channel,private_channel", exclude_archived=True,
                                             limit=1000, cursor=cursor)
        for channel in response.get("channels") or []:
            ids[channel["name"]] = channel["id"]
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return ids


# --- start-up check ----------------------------------------------------------------------------


@dataclass
class SlackStatus:
    problem: str | None = None
    team: str = ""
    bot: str = ""
    checked: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def inspect(settings: Settings, *, token: str | None = None, channels: Iterable[tuple[str, str]] = (),
            client: WebClient | None = None) -> SlackStatus:
    """auth.test once, then each configured channel where the token may look (missing_scope:
    unknown, not a problem). ``channels``: more (channel, where it is set) pairs, e.g. tenants'."""
    token = token or secret(SLACK_TOKEN_ENV)
    status = SlackStatus()
    if not token:
        status.problem = f"{SLACK_TOKEN_ENV} is not set: alerts print to the terminal instead of Slack"
        return status
    client = client or make_client(settings, token)
    api = settings.slack.api_url
    try:
        auth = client.auth_test()
    except SlackApiError as exc:
        code = str(exc.response.get("error") or "") if isinstance(exc.response.data, dict) else ""
        if code in TOKEN_ERRORS:
            status.problem = (f"Slack rejected the bot token in {SLACK_TOKEN_ENV} ({code}): "
                              "check it is the app's current xoxb- token")
        else:
            status.problem = f"Slack auth.test failed at {api}: {code or f'HTTP {exc.response.status_code}'}"
        return status
    except (OSError, http.client.HTTPException) as exc:
        status.problem = f"cannot reach the Slack API at {api}: {getattr(exc, 'reason', exc)}"
        return status
    status.team, status.bot = str(auth.get("team") or ""), str(auth.get("user") or "")
    scopes = {s.strip() for s in str(_header(auth.headers, "x-oauth-scopes") or "").split(",") if s.strip()}
    if scopes and "chat:write" not in scopes:
        status.problem = "the Slack bot token lacks the chat:write scope: add it to the app and reinstall"
        return status
    lookup = {"channels:history", "groups:history", "channels:read", "groups:read"}
    if scopes and not lookup <= scopes:
        # Without them a post whose answer was lost (a dropped connection) cannot be looked up,
        # and the next flush posts it again rather than risk losing it.
        status.warnings.append(
            f"the bot token lacks {', '.join(sorted(lookup - scopes))}: if Slack's answer to a post is lost, "
            "that alert may be posted twice"
        )
    slack = settings.slack
    wanted: dict[str, str] = {}
    for channel, where in [(slack.default_channel, "[slack] default_channel"),
                           (slack.security_channel, "[slack] security_channel"),
                           (slack.health_channel, "[slack] health_channel"), *channels]:
        if channel and channel not in wanted:
            wanted[channel] = where
    if not wanted:
        status.problem = "no Slack channel is configured: set [slack] default_channel (or a channel per tenant)"
        return status
    names: dict[str, str] | None = None
    for channel, where in wanted.items():
        try:
            if _CHANNEL_ID.match(channel):
                info = client.conversations_info(channel=channel)["channel"]
            else:
                if names is None:
                    names = {name: cid for name, cid in _channel_ids(client).items()}
                cid = names.get(channel.lstrip("#"))
                if cid is None:
                    status.problem = f"Slack channel {channel} ({where}) was not found or the bot cannot see it"
                    return status
                info = client.conversations_info(channel=cid)["channel"]
        except SlackApiError as exc:
            code = str(exc.response.get("error") or "") if isinstance(exc.response.data, dict) else ""
            if code == "missing_scope":
                status.unknown.append(channel)
                continue
            if code == "channel_not_found":
                status.problem = f"Slack channel {channel} ({where}) was not found or the bot cannot see it"
            else:
                status.problem = f"cannot check Slack channel {channel} ({where}): {code or exc.response.status_code}"
            return status
        except (OSError, http.client.HTTPException) as exc:
            status.problem = f"cannot reach the Slack API at {api}: {getattr(exc, 'reason', exc)}"
            return status
        if info.get("is_archived"):
            status.problem = f"Slack channel {channel} ({where}) is archived"
            return status
        if not info.get("is_member") and (info.get("is_private") or "chat:write.public" not in scopes):
            status.problem = f"the bot is not in Slack channel {channel} ({where}): invite it there (/invite)"
            return status
        status.checked.append(channel)
    return status


def check(settings: Settings, *, token: str | None = None, channels: Iterable[tuple[str, str]] = ()) -> str | None:
    """One clear line if Slack cannot take our alerts (bad token, unknown channel), else None.
    With no token there is nothing to check: alerts go to the terminal."""
    if not (token or secret(SLACK_TOKEN_ENV)):
        return None
    return inspect(settings, token=token, channels=channels).problem


def _header(headers: Any, name: str) -> str | None:
    for key, value in dict(headers or {}).items():
        if key.lower() == name:
            return value[0] if isinstance(value, list) else value
    return None
