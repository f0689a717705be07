"""The terminal sink: alerts printed in a readable form when no Slack token is configured.

What the demo shows. Text from an email has its control characters (ESC, CSI, BEL...) and
invisible format characters removed before it reaches the terminal
(:func:`alerts.outbox.clean`), so a subject cannot recolour, move or retitle the terminal, and
long values are cut to a bounded length.
"""

from __future__ import annotations

import itertools
import sys
import textwrap
import time
from typing import TextIO
from urllib.parse import urlsplit

import click

from alerts.outbox import Found, Item, Post, label_title

WIDTH = 100
LABEL = 10
LISTED = 20


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1].rstrip() + "…"


def _url(value: str) -> str:
    parts = urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.netloc and len(value) <= 3000 else ""


class ConsoleSink:
    """Prints alerts; a campaign's later mailboxes and edits print as short follow-up lines."""

    def __init__(self, review_url: str, *, stream: TextIO | None = None, color: bool | None = None) -> None:
        self.review_url = review_url.rstrip("/")
        self.stream = stream
        self.color = color
        self._counter = itertools.count(1)

    # -- the Sink protocol --------------------------------------------------------------------

    def post(self, post: Post) -> tuple[str, str]:
        render = {"campaign": self._campaign, "reply": self._reply, "digest": self._digest,
                  "tenant_health": self._health}[post.kind]
        self._echo("\n".join(render(post)))
        return "console", f"{time.time():.0f}.{next(self._counter):06d}"

    def update(self, channel: str, ts: str, post: Post) -> None:
        if post.kind == "digest":
            line = f"  ↻ {post.total} alerts for {_cut(post.tenant, 80)} rolled up so far"
        else:
            subject = _cut(post.items[0].text("subject") or "(no subject)", 80)
            line = f"  ↻ “{subject}” at {_cut(post.tenant, 80)} has now reached {post.total} mailboxes"
        self._echo(self._style(line, dim=True))

    def find(self, post: Post) -> Found | None:
        return None  # printing twice after a crash is harmless; there is nothing to look up

    # -- rendering ------------------------------------------------------------------------------

    def _echo(self, text: str) -> None:
        stream = self.stream or sys.stdout
        click.echo(text, file=stream, color=self._colored(stream))

    def _colored(self, stream: TextIO) -> bool:
        return self.color if self.color is not None else bool(getattr(stream, "isatty", lambda: False)())

    def _style(self, text: str, **style: object) -> str:
        return click.style(text, **style) if self._colored(self.stream or sys.stdout) else text  # type: ignore[arg-type]

    def _heading(self, title: str, color: str) -> str:
        title = _cut(title, WIDTH - 8)
        return self._style(f"━━ {title} " + "━" * max(3, WIDTH - len(title) - 4), fg=color, bold=True)

    def _row(self, label: str, value: str, *, chars: int = 300) -> list[str]:
        if not value:
            return []
        lines = textwrap.wrap(_cut(value, chars), WIDTH - LABEL - 2) or [""]
        pad = " " * (LABEL + 2)
        return [f"  {self._style(label.ljust(LABEL), bold=True)}{lines[0]}"] + [pad + line for line in lines[1:]]

    def _links(self, item: Item) -> list[str]:
        rows = []
        if item.detection_id is not None:
            rows += self._row("Review", f"{self.review_url}/detections/{item.detection_id}", chars=3000)
        rows += self._row("Outlook", _url(item.text("web_link")), chars=3000)
        return rows

    def _campaign(self, post: Post) -> list[str]:
        lead = post.items[0]
        label = lead.text("label")
        title = label_title(label)
        name, address = lead.text("sender_name"), lead.text("sender_address")
        more = f" (+{post.total - 1} more)" if post.total > 1 else ""
        score = lead.number("score")
        lines = [self._heading(f"{title} · {post.tenant}", "red" if label == "impersonation" else "yellow")]
        lines += self._row("Mailbox", _cut(lead.mailbox or "unknown", 200) + more)
        lines += self._row("From", f"{_cut(name, 120)} <{_cut(address, 200)}>" if name and address else name or address)
        lines += self._row("Vendor", lead.text("vendor"), chars=100)
        lines += self._row("Subject", lead.text("subject") or "(no subject)")
        lines += self._row("Received", lead.received, chars=60)
        lines += self._row("Score", f"{score:.2f}" if score is not None else "")
        for i, (description, evidence) in enumerate(lead.reasons()):
            why = f"• {_cut(description, 200)}" + (f" — “{_cut(evidence, 200)}”" if evidence else "")
            lines += self._row("Why" if i == 0 else "", why, chars=500)
        snippet = lead.text("snippet")
        lines += self._row("Snippet", snippet, chars=400)
        if post.total > 1:
            mailboxes = list(dict.fromkeys(i.mailbox.lower() for i in post.items if i.mailbox))
            rest = post.total - min(len(mailboxes), LISTED)
            listing = ", ".join(_cut(m, 80) for m in mailboxes[:LISTED]) + (f" and {rest} more" if rest > 0 else "")
            lines += self._row("Mailboxes", listing, chars=3000)
        lines += self._links(lead)
        return [""] + lines

    def _reply(self, post: Post) -> list[str]:
        n = len(post.items)
        lines = [f"  ↳ {n} more mailbox{'es' if n != 1 else ''} at {_cut(post.tenant, 80)} received "
                 f"“{_cut(post.items[0].text('subject') or '(no subject)', 80)}” ({post.total} in all):"]
        for item in post.items[:LISTED]:
            review = f"  {self.review_url}/detections/{item.detection_id}" if item.detection_id is not None else ""
            lines.append(f"     {_cut(item.mailbox or 'unknown', 120)}{review}")
        if n > LISTED:
            lines.append(f"     and {n - LISTED} more in the review log")
        return lines

    def _digest(self, post: Post) -> list[str]:
        lines = ["", self._heading(f"{post.total} more alerts for {post.tenant}", "magenta")]
        for item in list(post.items)[-LISTED:]:
            vendor = _cut(item.text("vendor") or "Unknown vendor", 40)
            subject = _cut(item.text("subject") or "(no subject)", 80)
            lines.append(f"  • {vendor}: {subject} → {_cut(item.mailbox or 'unknown', 80)}")
        return lines

    def _health(self, post: Post) -> list[str]:
        item = post.items[0]
        if item.text("event") == "reconnected":
            return ["", self._heading(f"Reconnected · {post.tenant}", "green"), "  Mail is being read again."]
        command = item.text("command") or f"outreach-monitor connect --tenant {post.tenant}"
        lines = ["", self._heading(f"Reconnect needed · {post.tenant}", "red")]
        lines += self._row("Reason", item.text("reason"))
        lines += self._row("Run", command, chars=200)
        return lines
