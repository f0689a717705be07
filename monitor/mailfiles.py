"""Reading messages from files: Graph message JSON (one message or a list response
``{"value": [...]}``) and RFC 822 .eml, one file or whole folders.

Every record is either a parsed message or an error for that file/entry; one bad file never
stops the others.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from detectors.message import Message, MessageError, from_eml, from_graph

SUFFIXES = (".json", ".eml")
MAX_FILE_BYTES = 50 * 1024 * 1024  # bigger files are refused, not read into memory


@dataclass(frozen=True, slots=True)
class MailRecord:
    path: str
    index: int | None  # position in a Graph list response, None for single messages
    message: Message | None
    error: str = ""
    raw_id: str = ""


def expand(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files named, and the .json/.eml files under folders named, in a stable order."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        else:
            yield path


def read(path: Path) -> Iterator[MailRecord]:
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            yield MailRecord(name, None, None, f"file too large ({size} bytes; limit {MAX_FILE_BYTES})")
            return
        data = path.read_bytes()
    except OSError as exc:
        yield MailRecord(name, None, None, f"cannot read: {exc.strerror or exc}")
        return
    if path.suffix.lower() == ".eml":
        try:
            yield MailRecord(name, None, from_eml(data))
        except MessageError as exc:
            yield MailRecord(name, None, None, f"not an email message: {exc}")
        return
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        yield MailRecord(name, None, None, "not UTF-8 text (expected Graph message JSON)")
        return
    except json.JSONDecodeError as exc:
        yield MailRecord(name, None, None, f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
        return
    except RecursionError:
        yield MailRecord(name, None, None, "malformed JSON: nested too deeply")
        return
    if isinstance(doc, dict) and isinstance(doc.get("value"), list):
        for i, item in enumerate(doc["value"]):
            yield _one(name, i, item)
    else:
        yield _one(name, None, doc)


def _one(name: str, index: int | None, item: object) -> MailRecord:
    raw_id = str(item.get("id", "")) if isinstance(item, dict) else ""
    try:
        return MailRecord(name, index, from_graph(item), raw_id=raw_id)
    except MessageError as exc:
        return MailRecord(name, index, None, f"not a Graph message: {exc}", raw_id=raw_id)
