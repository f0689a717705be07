"""A fake Slack Web API on loopback for the tests, driven by the real slack_sdk WebClient.

It keeps channels and their messages (so chat.update and history lookups behave), checks the
bearer token and Slack's Block Kit limits the way the real API does (``invalid_auth``,
``channel_not_found``, ``invalid_blocks``, ``msg_too_long``), records every call's parsed
body, and can be scripted per method: queued replies (429 with Retry-After, 500, ``ok: false``
errors, a dropped connection before or after the message was stored), and a ``down`` switch.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

TOKEN = "xoxb-fake-0000-test-token"
CHANNELS = {
    "C0ALERTS": "alerts",
    "C0SECURE": "security",
    "C0HEALTH": "tenant-health",
    "C0CONTOS": "contoso",
}
SCOPES = "chat:write,channels:read,groups:read,channels:history,groups:history"


@dataclass
class Reply:
    """One scripted answer. ``drop`` closes the connection without answering; ``store`` says
    whether the message is kept first (a post that reached Slack but whose answer was lost)."""

    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    store: bool = False


def ratelimited(retry_after: int) -> Reply:
    return Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})


def server_error(status: int = 500) -> Reply:
    return Reply(status, None)


def error(code: str) -> Reply:
    return Reply(200, {"ok": False, "error": code})


def dropped(*, after_storing: bool = False) -> Reply:
    return Reply(drop=True, store=after_storing)


@dataclass
class Call:
    method: str
    body: dict[str, Any]
    token: str
    answered: int  # HTTP status sent, 0 for a dropped connection


class FakeSlack:
    """``with FakeSlack() as slack: WebClient(token=TOKEN, base_url=slack.url)``."""

    def __init__(self) -> None:
        self.token = TOKEN
        self.scopes = SCOPES
        self.channels: dict[str, dict[str, Any]] = {
            cid: {"id": cid, "name": name, "is_member": True, "is_private": False}
            for cid, name in CHANNELS.items()
        }
        self.messages: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.calls: list[Call] = []
        self.down = False
        self._script: dict[str, deque[Reply]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> FakeSlack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        fake = self

        class Handler(_Handler):
            slack = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
        if self._thread:
            self._thread.join(5)

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    # -- scripting and inspection ---------------------------------------------------------

    def script(self, method: str, *replies: Reply) -> None:
        """Answer the next calls of ``method`` with ``replies``, then normally again."""
        with self._lock:
            self._script[method].extend(replies)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def posts(self, channel: str | None = None, *, top_level: bool | None = None) -> list[dict[str, Any]]:
        """Messages currently in Slack, oldest first (after any chat.update)."""
        with self._lock:
            found = [m for cid, ms in self.messages.items() if channel in (None, cid) for m in ms]
        if top_level is not None:
            found = [m for m in found if bool(m.get("thread_ts")) != top_level]
        return sorted(found, key=lambda m: float(m["ts"]))

    def add_channel(self, cid: str, name: str, *, is_member: bool = True, is_private: bool = False) -> None:
        self.channels[cid] = {"id": cid, "name": name, "is_member": is_member, "is_private": is_private}

    # -- the API --------------------------------------------------------------------------

    def _resolve(self, channel: str) -> str | None:
        channel = str(channel or "")
        if channel in self.channels:
            return channel
        name = channel.lstrip("#")
        return next((cid for cid, c in self.channels.items() if c["name"] == name), None)

    def handle(self, method: str, body: dict[str, Any], token: str) -> Reply:
        with self._lock:
            scripted = self._script[method].popleft() if self._script[method] else None
        if self.down:
            return Reply(503, None)
        if scripted and not scripted.store:
            return scripted
        if token != self.token:
            return error("invalid_auth")
        handler = getattr(self, "_api_" + method.replace(".", "_"), None)
        if handler is None:
            return error("unknown_method")
        with self._lock:
            reply = handler(body)
        return scripted if scripted else reply

    def _api_auth_test(self, body: dict[str, Any]) -> Reply:
        return Reply(
            body={
                "ok": True,
                "url": "https://msp.slack.com/",
                "team": "MSP",
                "user": "outreach-bot",
                "team_id": "T0MSP",
                "user_id": "U0BOT",
                "bot_id": "B0BOT",
            },
            headers={"x-oauth-scopes": self.scopes},
        )

    def _needs(self, scope: str) -> Reply | None:
        if scope not in self.scopes.split(","):
            return Reply(body={"ok": False, "error": "missing_scope", "needed": scope})
        return None

    def _api_conversations_info(self, body: dict[str, Any]) -> Reply:
        if missing := self._needs("channels:read"):
            return missing
        channel = self.channels.get(str(body.get("channel", "")))
        return Reply(body={"ok": True, "channel": channel}) if channel else error("channel_not_found")

    def _api_conversations_list(self, body: dict[str, Any]) -> Reply:
        if missing := self._needs("channels:read"):
            return missing
        return Reply(
            body={
                "ok": True,
                "channels": list(self.channels.values()),
                "response_metadata": {"next_cursor": ""},
            }
        )

    def _api_conversations_history(self, body: dict[str, Any]) -> Reply:
        if missing := self._needs("channels:history"):
            return missing
        cid = str(body.get("channel", ""))  # ids only, as in Slack
        if cid not in self.channels:
            return error("channel_not_found")
        found = [m for m in self.messages[cid] if not m.get("thread_ts")]
        return Reply(body={"ok": True, "messages": list(reversed(found)), "has_more": False})

    def _api_conversations_replies(self, body: dict[str, Any]) -> Reply:
        if missing := self._needs("channels:history"):
            return missing
        cid = str(body.get("channel", ""))  # ids only, as in Slack
        if cid not in self.channels:
            return error("channel_not_found")
        parent = str(body.get("ts", ""))
        found = [m for m in self.messages[cid] if m["ts"] == parent or m.get("thread_ts") == parent]
        return Reply(body={"ok": True, "messages": found, "has_more": False})

    def _api_chat_postMessage(self, body: dict[str, Any]) -> Reply:
        cid = self._resolve(body.get("channel", ""))
        if cid is None:
            return error("channel_not_found")
        if not self.channels[cid]["is_member"]:
            return error("not_in_channel")
        if problem := _check_message(body):
            return error(problem)
        thread_ts = str(body.get("thread_ts") or "")
        if thread_ts and not any(m["ts"] == thread_ts for m in self.messages[cid]):
            return error("thread_not_found")
        n = next(self._ts)
        message = {
            "type": "message",
            "user": "U0BOT",
            "bot_id": "B0BOT",
            "ts": f"{1700000000 + n}.{n:06d}",
            "text": body.get("text", ""),
            "blocks": body.get("blocks") or [],
            "metadata": body.get("metadata"),
            "unfurl_links": body.get("unfurl_links"),
        }
        if thread_ts:
            message["thread_ts"] = thread_ts
        self.messages[cid].append(message)
        return Reply(body={"ok": True, "channel": cid, "ts": message["ts"], "message": message})

    def _api_chat_update(self, body: dict[str, Any]) -> Reply:
        cid = str(body.get("channel", ""))
        if cid not in self.channels:
            return error("channel_not_found")
        if problem := _check_message(body):
            return error(problem)
        for message in self.messages[cid]:
            if message["ts"] == str(body.get("ts")):
                message.update(text=body.get("text", ""), blocks=body.get("blocks") or [], edited=True)
                return Reply(body={"ok": True, "channel": cid, "ts": message["ts"], "text": message["text"]})
        return error("message_not_found")


def _check_message(body: dict[str, Any]) -> str | None:
    """The limits Slack enforces server-side on raw block dicts."""
    blocks = body.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    text = body.get("text") or ""
    if not text and not blocks:
        return "no_text"
    if len(text) > 40000:
        return "msg_too_long"
    if len(blocks) > 50:
        return "invalid_blocks"
    for block in blocks:
        kind = block.get("type")
        if kind == "header" and (block["text"]["type"] != "plain_text" or len(block["text"]["text"]) > 150):
            return "invalid_blocks"
        if kind == "section":
            if "text" in block and len(block["text"]["text"]) > 3000:
                return "invalid_blocks"
            fields = block.get("fields", [])
            if len(fields) > 10 or any(len(f["text"]) > 2000 for f in fields):
                return "invalid_blocks"
            if "text" not in block and not fields:
                return "invalid_blocks"
        if kind == "context" and len(block.get("elements", [])) > 10:
            return "invalid_blocks"
        if kind == "actions":
            for element in block.get("elements", []):
                if len(element.get("url", "")) > 3000 or len(element["text"]["text"]) > 75:
                    return "invalid_blocks"
    return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    slack: FakeSlack

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8") if length else ""
        if raw.startswith("{"):
            body = json.loads(raw)
        else:
            body = dict(parse_qsl(raw, keep_blank_values=True))
            for key in ("blocks", "metadata"):
                if isinstance(body.get(key), str) and body[key].startswith(("[", "{")):
                    body[key] = json.loads(body[key])
        method = self.path.rsplit("/", 1)[-1].split("?", 1)[0]
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip() or body.get(
            "token", ""
        )
        reply = self.slack.handle(method, body, token)
        with self.slack._lock:
            self.slack.calls.append(Call(method, body, token, 0 if reply.drop else reply.status))
        if reply.drop:
            self.close_connection = True
            return
        payload = (
            json.dumps(reply.body) if reply.body is not None else "<html>Service Unavailable</html>"
        ).encode()
        self.send_response(reply.status)
        self.send_header(
            "Content-Type", "application/json; charset=utf-8" if reply.body is not None else "text/html"
        )
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)
        self.close_connection = True

    do_GET = do_POST
