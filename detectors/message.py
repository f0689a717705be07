"""The normalised message every rule reads, built from Graph `message` JSON or RFC 822 .eml.

Builders: :func:`from_graph` (a Graph message dict) and :func:`from_eml` (bytes).
Everything here is cleaned of evasion tricks (see :mod:`detectors.text`) and bounded in
size, so rules can trust it and stay fast.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import email
import quopri
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC
from email import policy
from email.message import Message as EmailMessage
from email.utils import getaddresses, parsedate_to_datetime

from detectors.body import BodyParts, parse_body
from detectors.text import one_line, scrub

MAX_ID = 1024
MAX_SUBJECT = 1000
MAX_NAME = 256
MAX_ADDRESS = 320
MAX_RECIPIENTS = 500
MAX_HEADERS = 200
MAX_HEADER_NAME = 128
MAX_HEADER_VALUE = 8 * 1024
MAX_ADDRESS_HEADER = 64 * 1024  # To/Cc are parsed from this much (the stored value is still 8 KiB)
MAX_ATTACHMENTS = 100
MAX_MIME_PARTS = 500
MAX_MULTIPARTS = 100  # more multipart containers than this is not mail, it is an attack
MAX_BODY_BYTES = 2 * 1024 * 1024  # decoded before text conversion; text.py caps further


class MessageError(ValueError):
    """The input is not a message at all (not a JSON object, empty, no mail headers)."""


@dataclass(frozen=True, slots=True)
class Address:
    name: str  # display name, cleaned (NFKC, invisible characters removed); may be ""
    address: str  # lower-case, stripped; may be "" when missing or unparseable

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2] if "@" in self.address else ""

    @property
    def local(self) -> str:
        return self.address.rpartition("@")[0] if "@" in self.address else ""


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    text: str  # the visible link text (cleaned), "" for bare URLs
    domain: str  # lower-case host, "" when the URL has none (mailto:, relative)


@dataclass(slots=True)
class Message:
    id: str = ""
    internet_message_id: str = ""
    conversation_id: str = ""
    subject: str = ""  # cleaned
    from_: Address | None = None
    sender: Address | None = None
    reply_to: list[Address] = field(default_factory=list)
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    received: str = ""  # ISO 8601 as given, "" when missing
    # Lower-case header name -> values in order (bounded: at most 200 headers, 8 KiB each).
    headers: dict[str, list[str]] = field(default_factory=dict)
    body_text: str = ""  # whole body as plain text (HTML converted), cleaned, bounded
    new_text: str = ""  # the newest part only: quoted history and signature removed
    signature: str = ""  # the newest part's signature block ("" when none found)
    quoted: str = ""  # quoted history / forwarded text ("" when none)
    # Addresses named in the quoted history's headers ("From: ... <a@b>"), oldest last.
    quoted_senders: list[str] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)  # bounded (first 200)
    pixels: list[str] = field(default_factory=list)  # hosts of open-tracking images (at most 3)
    image_alts: list[str] = field(default_factory=list)  # images' alternative texts (at most 10)
    has_attachments: bool = False
    attachment_names: list[str] = field(default_factory=list)
    web_link: str = ""
    inference_classification: str = ""  # Graph: "focused" / "other"
    body_truncated: bool = False  # the body was larger than the work cap

    def header(self, name: str) -> str:
        """The first value of a header (case-insensitive), or ""."""
        values = self.headers.get(name.lower())
        return values[0] if values else ""

    @property
    def sender_address(self) -> Address | None:
        """Who the mail claims to be from: From, else Sender."""
        return self.from_ if self.from_ and self.from_.address else self.sender


# --- shared helpers ----------------------------------------------------------------------


def _str(value: object) -> str:
    """A JSON scalar as text; objects, arrays and null become ""."""
    if isinstance(value, str):
        return value if value.isascii() and "\x00" not in value else scrub(value)
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value)


def _ident(value: object) -> str:
    return _str(value).strip()[:MAX_ID]


def _address(value: str) -> str:
    """Lower-cased and stripped, otherwise as given: folding a look-alike domain here would
    turn an impersonation into the real thing, so rules compare with fold() themselves."""
    value = value.strip().lower()
    if value[:1] == "<" or value[-1:] == ">":
        value = value.strip("<>").strip()
    if (
        len(value) > MAX_ADDRESS
        or value.count("@") != 1
        or value[0] == "@"
        or value[-1] == "@"
        or " " in value
        or not value.isprintable()
    ):
        return ""
    return value


def _apply_body(message: Message, parts: BodyParts) -> None:
    message.body_text = parts.text
    message.new_text = parts.new
    message.signature = parts.signature
    message.quoted = parts.quoted
    message.quoted_senders = parts.quoted_senders
    message.links = [Link(url, text, host) for url, text, host in parts.links]
    message.pixels = parts.pixels
    message.image_alts = parts.image_alts
    message.body_truncated = parts.truncated


def _sender_name(message: Message) -> str:
    who = message.sender_address
    return who.name if who else ""


# --- Graph -------------------------------------------------------------------------------

_GRAPH_MESSAGE_KEYS = frozenset(
    [
        "id",
        "internetMessageId",
        "subject",
        "body",
        "bodyPreview",
        "from",
        "sender",
        "toRecipients",
        "receivedDateTime",
    ]
)


def _graph_address(item: object) -> Address | None:
    if not isinstance(item, dict):
        return None
    box = item.get("emailAddress")
    if not isinstance(box, dict):
        return None
    name = one_line(_str(box.get("name")), MAX_NAME)
    address = _address(_str(box.get("address")))
    return Address(name, address) if name or address else None


def _graph_addresses(items: object) -> list[Address]:
    if not isinstance(items, list):
        return []
    found = (_graph_address(item) for item in items[:MAX_RECIPIENTS])
    return [address for address in found if address]


def _graph_body(value: object) -> tuple[str, str]:
    if not isinstance(value, dict):
        return "", ""
    content = value.get("content")
    # Not scrubbed here: text.py cleans what it keeps, and the HTML parser drops surrogates.
    content = content if isinstance(content, str) else _str(content)
    return content, _str(value.get("contentType"))


def _graph_headers(items: object) -> dict[str, list[str]]:
    """internetMessageHeaders as lower-case name -> values, bounded. A hot loop (forty-odd
    headers a message): well-formed input takes a lean path, anything else the careful one."""
    if not isinstance(items, list):
        return {}
    headers: dict[str, list[str]] = {}
    try:
        for item in items[:MAX_HEADERS]:
            name = item["name"]
            value = item["value"]
            if (
                len(value) > MAX_HEADER_VALUE
                or len(name) > MAX_HEADER_NAME
                or not (value.isascii() and name.isascii())
                or "\x00" in value
            ):
                name, value = _str(name)[:MAX_HEADER_NAME], _str(value)[:MAX_HEADER_VALUE]
            name = name.strip().lower()
            values = headers.get(name)
            if values is not None:
                values.append(value)
            elif name:
                headers[name] = [value]
    except (TypeError, KeyError, AttributeError):
        return _graph_headers_careful(items)
    return headers


def _graph_headers_careful(items: list) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for item in items[:MAX_HEADERS]:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        name = _str(item["name"]).strip().lower()[:MAX_HEADER_NAME]
        if name:
            headers.setdefault(name, []).append(_str(item.get("value"))[:MAX_HEADER_VALUE])
    return headers


def from_graph(data: object) -> Message:
    """Build a Message from a Graph `message` resource (a dict). Missing or null fields are
    tolerated; input that is not a message object raises MessageError."""
    if not isinstance(data, dict):
        raise MessageError(f"a Graph message is a JSON object, not {type(data).__name__}")
    if not _GRAPH_MESSAGE_KEYS.intersection(data):
        if isinstance(data.get("error"), dict):
            code = _str(data["error"].get("code"))[:100]
            raise MessageError(f"this is a Graph error response ({code or 'no code'}), not a message")
        if isinstance(data.get("value"), list):
            raise MessageError("this is a Graph collection page ('value' list): pass one message from it")
    message = Message(
        id=_ident(data.get("id")),
        internet_message_id=_ident(data.get("internetMessageId")),
        conversation_id=_ident(data.get("conversationId")),
        subject=one_line(_str(data.get("subject")), MAX_SUBJECT),
        from_=_graph_address(data.get("from")),
        sender=_graph_address(data.get("sender")),
        reply_to=_graph_addresses(data.get("replyTo")),
        to=_graph_addresses(data.get("toRecipients")),
        cc=_graph_addresses(data.get("ccRecipients")),
        received=_ident(data.get("receivedDateTime")) or _ident(data.get("sentDateTime")),
        web_link=_ident(data.get("webLink")),
        inference_classification=_str(data.get("inferenceClassification")).strip().lower()[:32],
    )
    message.headers = _graph_headers(data.get("internetMessageHeaders"))
    attachments = data.get("attachments")  # present with $expand=attachments
    if isinstance(attachments, list):
        for item in attachments:
            if isinstance(item, dict) and item.get("isInline") is not True:
                message.has_attachments = True
                name = one_line(_str(item.get("name")), MAX_NAME)
                if name and len(message.attachment_names) < MAX_ATTACHMENTS:
                    message.attachment_names.append(name)
    message.has_attachments = message.has_attachments or data.get("hasAttachments") is True

    content, content_type = _graph_body(data.get("body"))
    if not content or content.isspace():
        content, content_type = _str(data.get("bodyPreview")), "text"
    parts = parse_body(content, content_type, _sender_name(message))
    unique, unique_type = _graph_body(data.get("uniqueBody"))  # only with $select=uniqueBody
    if unique and not unique.isspace():
        # Graph already separated the new part; still drop the signature and any quote it kept.
        newest = parse_body(unique, unique_type, _sender_name(message))
        if newest.new or newest.signature:
            parts.new, parts.signature = newest.new, newest.signature
    _apply_body(message, parts)
    return message


# --- RFC 822 -----------------------------------------------------------------------------

_KNOWN_HEADERS = frozenset(
    [
        "from",
        "sender",
        "to",
        "cc",
        "subject",
        "date",
        "message-id",
        "received",
        "mime-version",
        "content-type",
        "return-path",
        "reply-to",
        "delivered-to",
        "in-reply-to",
        "references",
        "x-mailer",
        "authentication-results",
    ]
)
_FOLD = re.compile(r"\r?\n[ \t]|[\r\n]")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(?<=\?=)[ \t]+(?==\?)")
_SURROGATES = re.compile("[\udc80-\udcff]")
_VALID_MULTIBYTE = re.compile("[^\x00-\x7f\ufffd]")


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Bytes in a declared charset, never raising. A known charset decodes with replacement
    characters (latin-1 read as windows-1252, as browsers do: that is what such mail holds);
    none, us-ascii, or an unknown or non-text one tries UTF-8, then windows-1252."""
    label = (charset or "").strip().strip("\"'").lower()
    if label not in ("", "us-ascii", "ascii", "unknown-8bit", "x-unknown"):
        try:
            info = codecs.lookup(label)
            if getattr(info, "_is_text_encoding", True):
                name = "cp1252" if info.name == "iso8859-1" else info.name
                return data.decode(name, "replace")
        except (LookupError, ValueError, TypeError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", "replace")
    # Mostly UTF-8 with a few broken bytes keeps its characters; otherwise it is 8-bit text.
    return text if _VALID_MULTIBYTE.search(text) else data.decode("cp1252", "replace")


def _header_text(value: object) -> str:
    """A raw header value, unfolded, with raw 8-bit bytes (RFC 6532) decoded."""
    text = value if isinstance(value, str) else str(value)
    if _SURROGATES.search(text):
        text = decode_bytes(text.encode("utf-8", "surrogateescape"), "")
    return scrub(_FOLD.sub(lambda m: m.group()[-1] if m.group()[-1] in " \t" else "", text))


def decode_words(value: str) -> str:
    """RFC 2047 encoded words ("=?utf-8?B?...?=") decoded; adjacent words in one charset are
    joined before decoding so a character split between them survives."""
    if "=?" not in value:
        return value
    value = _BETWEEN_WORDS.sub("", value)
    out: list[str] = []
    pending = b""
    pending_charset = ""
    last = 0
    for m in _ENCODED_WORD.finditer(value):
        charset = m.group(1).split("*", 1)[0]
        data = m.group(3)
        try:
            if m.group(2) in "bB":
                chunk = base64.b64decode(data + "=" * (-len(data) % 4), validate=True)
            else:
                chunk = quopri.decodestring(data.encode("ascii", "replace"), header=True)
        except (ValueError, binascii.Error):
            continue  # left as written
        if pending and (m.start() != last or charset.lower() != pending_charset.lower()):
            out.append(decode_bytes(pending, pending_charset))
            pending = b""
        out.append(value[last : m.start()])
        pending += chunk
        pending_charset = charset
        last = m.end()
    if pending:
        out.append(decode_bytes(pending, pending_charset))
    out.append(value[last:])
    return "".join(out)


def _eml_addresses(values: list[str]) -> list[Address]:
    joined = ", ".join(values)[:MAX_ADDRESS_HEADER]
    try:
        pairs = getaddresses([joined])
    except Exception:  # the stdlib parser has had crashes on hostile input; degrade
        pairs = [("", found) for found in re.findall(r"[^\s<>,;\"']+@[^\s<>,;\"']+", joined)]
    addresses = []
    for name, address in pairs[:MAX_RECIPIENTS]:
        entry = Address(one_line(decode_words(name), MAX_NAME), _address(address))
        if entry.name or entry.address:
            addresses.append(entry)
    return addresses


def _received(value: str) -> str:
    if not value:
        return ""
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)  # "-0000": time is UTC, zone unknown
        return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError, IndexError, OverflowError):
        return ""


def _payload_text(part: EmailMessage) -> tuple[str, bool]:
    """A leaf part's decoded text (bounded), and whether it was cut."""
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        raw = part.get_payload()
        data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    truncated = len(data) > MAX_BODY_BYTES
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return decode_bytes(data[:MAX_BODY_BYTES], charset), truncated


def _walk(message: EmailMessage, into: Message) -> tuple[EmailMessage | None, EmailMessage | None]:
    """First HTML and first plain-text body parts (the message's own before those of attached
    messages); attachments are recorded on the way. Iterative and bounded in part count."""
    bodies: dict[tuple[bool, str], EmailMessage] = {}
    stack: list[tuple[EmailMessage, bool]] = [(message, False)]
    seen = 0
    while stack and seen < MAX_MIME_PARTS:
        part, nested = stack.pop()
        seen += 1
        disposition = (part.get_content_disposition() or "").lower()
        filename = part.get_filename() or ""
        if disposition == "attachment" or (filename and disposition != "inline"):
            into.has_attachments = True
            name = one_line(decode_words(str(filename)), MAX_NAME)
            if name and len(into.attachment_names) < MAX_ATTACHMENTS:
                into.attachment_names.append(name)
            continue
        payload = part.get_payload()
        content_type = part.get_content_type()
        if isinstance(payload, list):
            inner = nested or content_type == "message/rfc822"
            stack.extend((child, inner) for child in reversed(payload) if isinstance(child, EmailMessage))
            continue
        if content_type == "text/html":
            bodies.setdefault((nested, "html"), part)
        elif content_type == "text/plain" or content_type.startswith("multipart/"):
            # A multipart without (or with a wrong) boundary keeps its raw text: read that.
            bodies.setdefault((nested, "text"), part)
    for key in ((False, "html"), (False, "text"), (True, "html"), (True, "text")):
        if key in bodies:
            return (bodies[key], None) if key[1] == "html" else (None, bodies[key])
    return None, None


def _as_bytes(raw: object) -> bytes:
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, bytearray | memoryview):
        return bytes(raw)
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    raise MessageError(f"an .eml message is bytes, not {type(raw).__name__}")


_WANTED_HEADERS = frozenset(("from", "sender", "reply-to", "to", "cc", "subject", "date", "message-id"))


def _from_headers(pairs: Iterable[tuple[object, object]]) -> Message:
    """A Message with the header fields filled from raw (name, value) pairs."""
    message = Message()
    wanted: dict[str, list[str]] = {}
    kept = 0
    for raw_name, raw_value in pairs:
        name = str(raw_name).strip().lower()[:MAX_HEADER_NAME]
        if not name:
            continue
        value = _header_text(raw_value)
        if kept < MAX_HEADERS:
            # Decoded, as Graph gives them; the raw form is parsed below (an encoded name
            # may hold a comma that is not an address separator).
            message.headers.setdefault(name, []).append(decode_words(value)[:MAX_HEADER_VALUE])
            kept += 1
        if name in _WANTED_HEADERS:
            wanted.setdefault(name, []).append(value)
    if not wanted and not _KNOWN_HEADERS.intersection(message.headers):
        raise MessageError("not an email message: it does not start with mail headers (From:, Subject: ...)")

    def first(name: str) -> str:
        return wanted.get(name, [""])[0]

    message.internet_message_id = first("message-id").strip()[:MAX_ID]
    message.subject = one_line(decode_words(first("subject")), MAX_SUBJECT)
    message.from_ = next(iter(_eml_addresses(wanted.get("from", [])[:1])), None)
    message.sender = next(iter(_eml_addresses(wanted.get("sender", [])[:1])), None)
    message.reply_to = _eml_addresses(wanted.get("reply-to", []))
    message.to = _eml_addresses(wanted.get("to", []))
    message.cc = _eml_addresses(wanted.get("cc", []))
    message.received = _received(first("date"))
    return message


def _from_email(parsed: EmailMessage) -> Message:
    message = _from_headers(parsed.raw_items())
    html, plain = _walk(parsed, message)
    body = html or plain
    if body is not None:
        content, truncated = _payload_text(body)
        parts = parse_body(content, "html" if html is not None else "text", _sender_name(message))
        parts.truncated = parts.truncated or truncated
        _apply_body(message, parts)
    return message


def from_eml(raw: bytes) -> Message:
    """Build a Message from RFC 822 bytes; broken MIME or charsets degrade, never crash.
    Empty input, or input that does not start with mail headers, raises MessageError."""
    raw = _as_bytes(raw)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    raw = raw.lstrip(b"\r\n\t ")
    if not raw:
        raise MessageError("empty input: not an email message")
    if raw[:1] in (b"{", b"["):
        raise MessageError("this looks like JSON, not an .eml message (a Graph message? use from_graph)")
    if raw.count(b"oundary=") + raw.count(b"OUNDARY=") > MAX_MULTIPARTS:
        # The stdlib parser slows down with nesting and recurses per level: hostile input.
        return _from_raw_text(raw)
    for mail_policy in (policy.default, policy.compat32):
        try:
            return _from_email(email.message_from_bytes(raw, policy=mail_policy))
        except MessageError:
            raise
        except Exception:  # any stdlib parser failure: retry with compat32, then degrade
            continue
    return _from_raw_text(raw)


_HEADER_FOLD = re.compile(rb"\r?\n[ \t]+")


def _from_raw_text(raw: bytes) -> Message:
    """When the stdlib parser cannot (or should not) read the message: the header block split
    by hand, the rest read as text."""
    head, _, body = raw.partition(b"\n\n") if b"\r\n\r\n" not in raw[:65536] else raw.partition(b"\r\n\r\n")
    lines = decode_bytes(_HEADER_FOLD.sub(b" ", head[:1_000_000]), "").splitlines()
    pairs = [(name, value.strip()) for name, colon, value in (line.partition(":") for line in lines) if colon]
    message = _from_headers((name, value) for name, value in pairs if name and " " not in name)
    parts = parse_body(decode_bytes(body[:MAX_BODY_BYTES], ""), "", _sender_name(message))
    parts.truncated = parts.truncated or len(body) > MAX_BODY_BYTES
    _apply_body(message, parts)
    return message
