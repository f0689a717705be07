"""The Graph sandbox's mail: mailboxes, folders, messages and each folder's change sequence.

Delta query is per folder. Every change (a message arriving, being updated, moved in or out,
deleted) takes the next number of its mailbox's sequence, and a folder remembers, per message,
the number of its last change, either as a member or as a removal. A delta token is that
number plus the query's options: the next round reports every change after it. Within a round
pages are keyed by sequence number, not offsets, so mail arriving or leaving while a client
pages through a round is neither skipped nor reported twice; it lands in the next round.

Messages keep two ids, as Exchange does: an immutable one and a "REST" one that changes
when the message moves (``Prefer: IdType="ImmutableId"`` picks the first).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import json
import re
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

WELL_KNOWN = {
    "inbox": "Inbox",
    "archive": "Archive",
    "deleteditems": "Deleted Items",
    "sentitems": "Sent Items",
    "drafts": "Drafts",
    "junkemail": "Junk Email",
}
# Graph caps a delta round that has a receivedDateTime filter (message-delta.md).
FILTERED_DELTA_CAP = 5000


class StoreError(Exception):
    """A request names something the store does not have; carries Graph's status and code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> datetime:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _graph_id(prefix: str) -> str:
    # Shaped like Exchange ids ("AAMkAG..."), unique, URL-safe.
    return prefix + _b64(uuid.uuid4().bytes + secrets.token_bytes(6)) + "AAA="


_BLOCK_END = re.compile(r"(?i)<br\s*/?>|</(?:p|div|tr|li|h[1-6]|table|blockquote)>")
_ANCHOR = re.compile(r"(?is)<a\s[^>]*?href\s*=\s*[\"']([^\"']*)[\"'][^>]*>(.*?)</a>")
_INVISIBLE_BLOCKS = re.compile(r"(?is)<(head|style|script|title)\b.*?</\1\s*>")
_TAG = re.compile(r"(?s)<[^>]*>")
_BLANKS = re.compile(r"\n[ \t\r\f\v]*(?:\n[ \t\r\f\v]*)+")


def html_to_text(markup: str) -> str:
    """Crude HTML-to-text in the shape Outlook gives with the text-body preference
    (links become ``text <url>``); good enough for a simulator."""
    text = _INVISIBLE_BLOCKS.sub("", markup)
    # The link's <url> is marked with private-use characters so tag stripping leaves it alone.
    text = _ANCHOR.sub(lambda m: f"{_TAG.sub('', m.group(2)).strip()} \ue000{m.group(1)}\ue001", text)
    text = _BLOCK_END.sub("\n", text)
    text = html.unescape(_TAG.sub("", text)).replace("\xa0", " ").replace("\ue000", "<").replace("\ue001", ">")
    return _BLANKS.sub("\n\n", text).strip()


@dataclass
class Folder:
    id: str
    name: str  # well-known name, lower case
    display_name: str
    generation: int = 1  # bumped when delta tokens expire
    members: dict[str, int] = field(default_factory=dict)  # immutable id -> seq, in seq order
    # immutable id -> (seq, the REST id it had when it left), in seq order
    removed: dict[str, tuple[int, str]] = field(default_factory=dict)

    def touch(self, message_id: str, seq: int) -> None:
        self.removed.pop(message_id, None)
        self.members.pop(message_id, None)
        self.members[message_id] = seq

    def drop(self, message_id: str, rest_id: str, seq: int) -> None:
        self.members.pop(message_id, None)
        self.removed.pop(message_id, None)
        self.removed[message_id] = (seq, rest_id)


@dataclass
class StoredMessage:
    immutable_id: str
    rest_id: str
    folder_id: str
    received: datetime
    data: dict[str, Any]


@dataclass
class MailboxData:
    upn: str
    folders: dict[str, Folder] = field(default_factory=dict)  # by folder id
    messages: dict[str, StoredMessage] = field(default_factory=dict)  # by immutable id
    rest_ids: dict[str, str] = field(default_factory=dict)  # rest id -> immutable id
    seq: int = 0

    def __post_init__(self) -> None:
        digest = hashlib.sha256(self.upn.encode()).hexdigest()[:16]
        for name, display in WELL_KNOWN.items():
            folder = Folder(f"AQMkAD{digest}AC4{_b64(name.encode())}AAAA==", name, display)
            self.folders[folder.id] = folder

    def folder(self, key: str) -> Folder:
        """A folder by id or well-known name (case-insensitive), as Graph accepts both."""
        found = self.folders.get(key)
        if found:
            return found
        lowered = key.lower()
        for folder in self.folders.values():
            if folder.name == lowered:
                return folder
        raise StoreError(404, "ErrorItemNotFound", "The specified object was not found in the store.")

    def message(self, message_id: str) -> StoredMessage:
        immutable = message_id if message_id in self.messages else self.rest_ids.get(message_id, "")
        stored = self.messages.get(immutable)
        if stored is None:
            raise StoreError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        return stored

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


@dataclass(frozen=True)
class DeltaState:
    """What a skip or delta token stands for (the token is this, encoded)."""

    folder_id: str
    generation: int
    since: int  # changes after this sequence number...
    upto: int | None  # ...up to this one (None: a delta token, the round is not started yet)
    after: int  # position within the round
    initial: bool  # the first round: current members only, no removals
    select: tuple[str, ...] | None
    received_ge: str | None  # the $filter's lower bound (ISO), kept for every round
    returned: int = 0  # items returned so far in a filtered first round (see FILTERED_DELTA_CAP)

    def encode(self) -> str:
        raw = json.dumps(
            [self.folder_id, self.generation, self.since, self.upto, self.after, self.initial,
             self.select, self.received_ge, self.returned],
            separators=(",", ":"),
        )
        return _b64(raw.encode())

    @classmethod
    def decode(cls, token: str) -> DeltaState:
        try:
            f, g, s, u, a, i, sel, ge, n = json.loads(_unb64(token))
            return cls(str(f), int(g), int(s), None if u is None else int(u), int(a), bool(i),
                       tuple(sel) if sel is not None else None, ge, int(n))
        except (ValueError, TypeError) as exc:
            raise StoreError(400, "BadRequest", "The delta or skip token is malformed.") from exc


@dataclass
class DeltaPage:
    items: list[dict[str, Any]]  # rendered messages and ``@removed`` entries
    skip_token: str = ""  # more pages in this round
    delta_token: str = ""  # round complete


def render(
    stored: StoredMessage,
    *,
    select: tuple[str, ...] | None,
    immutable_ids: bool,
    text_body: bool,
    odata_type: bool = False,
) -> dict[str, Any]:
    """A message as Graph returns it: `$select` honoured, headers only when selected."""
    data = stored.data
    if select is None:
        keys = [k for k in data if k not in ("internetMessageHeaders", "uniqueBody")]
    else:
        keys = [k for k in select if k in data or k == "uniqueBody"]
    out: dict[str, Any] = {}
    if odata_type:
        out["@odata.type"] = "#microsoft.graph.message"
    if "@odata.etag" in data:
        out["@odata.etag"] = data["@odata.etag"]
    for key in keys:
        if key in ("id", "@odata.etag"):
            continue
        value = data["body"] if key == "uniqueBody" and key not in data else data.get(key)
        if key in ("body", "uniqueBody") and isinstance(value, dict):
            value = dict(value)
            if text_body and value.get("contentType") == "html":
                value = {"contentType": "text", "content": html_to_text(str(value.get("content") or ""))}
        out[key] = copy.deepcopy(value)
    out["id"] = stored.immutable_id if immutable_ids else stored.rest_id
    if "parentFolderId" in out:
        out["parentFolderId"] = stored.folder_id
    return out


class MailStore:
    """Thread-safe mail of every sandbox mailbox, keyed by lower-case UPN."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.mailboxes: dict[str, MailboxData] = {}

    def mailbox(self, upn: str) -> MailboxData:
        with self.lock:
            key = upn.lower()
            box = self.mailboxes.get(key)
            if box is None:
                box = self.mailboxes[key] = MailboxData(key)
            return box

    # --- changes ----------------------------------------------------------------------
    def add(self, upn: str, message: dict[str, Any], folder: str = "inbox") -> dict[str, Any]:
        """Deliver a Graph message dict; fills id, dates, folder, internetMessageId when absent."""
        if not isinstance(message, dict):
            raise StoreError(400, "BadRequest", "A message must be a JSON object.")
        with self.lock:
            box = self.mailbox(upn)
            target = box.folder(folder)
            data = copy.deepcopy(message)
            immutable = str(data.get("id") or "")
            if not immutable or immutable in box.messages or immutable in box.rest_ids:
                immutable = _graph_id("AAkALg")
            now = iso(datetime.now(UTC))
            for key in ("receivedDateTime", "sentDateTime", "createdDateTime"):
                data.setdefault(key, data.get("receivedDateTime") or now)
            try:
                received = parse_iso(str(data["receivedDateTime"]))
            except ValueError as exc:
                raise StoreError(400, "BadRequest", "receivedDateTime is not an ISO 8601 date.") from exc
            data["lastModifiedDateTime"] = now
            if not data.get("internetMessageId"):
                data["internetMessageId"] = f"<{uuid.uuid4().hex}@sandbox.outreach-monitor.test>"
            body = data.get("body") if isinstance(data.get("body"), dict) else None
            if body is None:
                body = data["body"] = {"contentType": "text", "content": ""}
            if "bodyPreview" not in data:
                content = str(body.get("content") or "")
                text = html_to_text(content) if body.get("contentType") == "html" else content
                data["bodyPreview"] = " ".join(text.split())[:255]
            for key in ("toRecipients", "ccRecipients", "bccRecipients", "replyTo", "categories"):
                data.setdefault(key, [])
            for key, default in (("isRead", False), ("isDraft", False), ("hasAttachments", False),
                                 ("importance", "normal"), ("inferenceClassification", "focused"),
                                 ("subject", ""), ("flag", {"flagStatus": "notFlagged"})):
                data.setdefault(key, default)
            data.setdefault("conversationId", _graph_id("AAQkAG"))
            data.setdefault("webLink", "https://outlook.office365.com/owa/?ItemID="
                            f"{immutable}&exvsurl=1&viewmodel=ReadMessageItem")
            data["parentFolderId"] = target.id
            data["id"] = immutable
            stored = StoredMessage(immutable, _graph_id("AAMkAG"), target.id, received, data)
            self._stamp(stored)
            box.messages[immutable] = stored
            box.rest_ids[stored.rest_id] = immutable
            target.touch(immutable, box.next_seq())
            return render(stored, select=None, immutable_ids=True, text_body=False)

    def update(self, upn: str, message_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            box = self.mailbox(upn)
            stored = box.message(message_id)
            stored.data.update({k: copy.deepcopy(v) for k, v in changes.items() if k not in ("id",)})
            stored.data["lastModifiedDateTime"] = iso(datetime.now(UTC))
            self._stamp(stored)
            box.folders[stored.folder_id].touch(stored.immutable_id, box.next_seq())
            return render(stored, select=None, immutable_ids=True, text_body=False)

    def move(self, upn: str, message_id: str, folder: str) -> dict[str, Any]:
        """Move to another folder: a removal in the old folder's delta, an addition in the new,
        and a new REST id (the immutable id stays)."""
        with self.lock:
            box = self.mailbox(upn)
            stored = box.message(message_id)
            target = box.folder(folder)
            if target.id != stored.folder_id:
                box.folders[stored.folder_id].drop(stored.immutable_id, stored.rest_id, box.next_seq())
                del box.rest_ids[stored.rest_id]
                stored.rest_id = _graph_id("AAMkAG")
                box.rest_ids[stored.rest_id] = stored.immutable_id
                stored.folder_id = target.id
                stored.data["parentFolderId"] = target.id
                self._stamp(stored)
                target.touch(stored.immutable_id, box.next_seq())
            return render(stored, select=None, immutable_ids=True, text_body=False)

    def delete(self, upn: str, message_id: str) -> None:
        with self.lock:
            box = self.mailbox(upn)
            stored = box.message(message_id)
            box.folders[stored.folder_id].drop(stored.immutable_id, stored.rest_id, box.next_seq())
            del box.messages[stored.immutable_id]
            del box.rest_ids[stored.rest_id]

    def expire_delta_tokens(self, upn: str | None = None) -> None:
        """Forget every sync state (of one mailbox, or all): old tokens get 410 SyncStateNotFound."""
        with self.lock:
            boxes = [self.mailbox(upn)] if upn else list(self.mailboxes.values())
            for box in boxes:
                for folder in box.folders.values():
                    folder.generation += 1

    @staticmethod
    def _stamp(stored: StoredMessage) -> None:
        change_key = _b64(secrets.token_bytes(12))
        stored.data["changeKey"] = change_key
        stored.data["@odata.etag"] = f'W/"{change_key}"'

    # --- reads ------------------------------------------------------------------------
    def get(self, upn: str, message_id: str) -> StoredMessage:
        with self.lock:
            return self.mailbox(upn).message(message_id)

    def start_delta(
        self, upn: str, folder: str, *, select: tuple[str, ...] | None, received_ge: str | None
    ) -> DeltaState:
        """The state of a first round: every current member of the folder (filtered)."""
        with self.lock:
            box = self.mailbox(upn)
            target = box.folder(folder)
            return DeltaState(target.id, target.generation, 0, box.seq, 0, True, select, received_ge)

    def delta(
        self, upn: str, state: DeltaState, *, page_size: int, immutable_ids: bool, text_body: bool
    ) -> DeltaPage:
        """One page of a round, rendered (under the lock, so a concurrent change cannot tear it)."""
        with self.lock:
            box = self.mailbox(upn)
            folder = box.folders.get(state.folder_id)
            if folder is None:
                raise StoreError(400, "BadRequest", "The delta token names an unknown folder.")
            if state.generation != folder.generation:
                raise StoreError(
                    410,
                    "SyncStateNotFound",
                    f"The sync state generation is not found; generation={state.generation};"
                    f"[highest={folder.generation}]",
                )
            upto = box.seq if state.upto is None else state.upto
            start = max(state.since, state.after)
            bound = parse_iso(state.received_ge) if state.received_ge else None
            capped = state.initial and bound is not None
            found = [(seq, mid, True) for mid, seq in folder.members.items() if start < seq <= upto]
            if not state.initial:
                found += [(seq, mid, False) for mid, (seq, _) in folder.removed.items() if start < seq <= upto]
                found.sort()
            items: list[dict[str, Any]] = []
            returned = state.returned
            last = start
            more = False
            for seq, message_id, present in found:
                if capped and returned >= FILTERED_DELTA_CAP:
                    break
                if len(items) >= page_size:
                    more = True
                    break
                last = seq
                if not present:
                    rest_id = folder.removed[message_id][1]
                    items.append({"@odata.type": "#microsoft.graph.message",
                                  "id": message_id if immutable_ids else rest_id,
                                  "@removed": {"reason": "deleted"}})
                    continue
                stored = box.messages[message_id]
                if bound is not None and stored.received < bound:
                    continue
                returned += 1
                items.append(render(stored, select=state.select, immutable_ids=immutable_ids,
                                    text_body=text_body, odata_type=True))
            if more:
                nxt = DeltaState(folder.id, folder.generation, state.since, upto, last, state.initial,
                                 state.select, state.received_ge, returned)
                return DeltaPage(items, skip_token=nxt.encode())
            done = DeltaState(folder.id, folder.generation, upto, None, upto, False, state.select,
                              state.received_ge)
            return DeltaPage(items, delta_token=done.encode())
