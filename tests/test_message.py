"""detectors.message: Message built from Graph JSON and from .eml bytes, hostile input included."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from detectors.markup import MAX_TEXT_CHARS
from detectors.message import Address, MessageError, from_eml, from_graph

DATA = Path(__file__).parent / "data"
# Development corpus messages used by name (read-only).
OUTLOOK_REPLY = (
    "devA-AAMkAGNWNjZGJkMDItYmU2Ni03MDRlLWZlYjEtNWFjBGAAAAAA6ALV2hcVKZdtYzs_4EQzFpBwA86eErnJAMdHNx7bB4zAAA="
)
FORWARD = (
    "devB-AAMkAADE2YTI5NmRkLWRiNDEtNzEyNy0wNGM2LTRkODdiBGAAAAAADWJ8Kc9nzXQynNDugZKM0lUeEFxY464AAA6Lmb97Zdp3bU"
)
PLAIN_TEXT_REPLY = (
    "devA-AAMkAGNWNjZGJkMDItYmU2Ni03MDRlLWZlYjEtNWFjBGAAAAAAWYacs-dZnbwUa6SZ_AWwhABwAUF86Yw93mQ0wcyLDSKAAA="
)
FRENCH_DELL = (
    "devA-AAMkAGMjEwYzI5MTMtNGVhMy1lNzU2LTZmMzYtM2I0BGAAAAAAE1q73ykqAVRNal4Z_RZoEMBwAvA6SC-f3zf-f680nxVAAA="
)


def dev_message(corpus: Path, name: str) -> dict:
    return json.loads((corpus / "messages" / f"{name}.json").read_text(encoding="utf-8"))


# --- Graph: the development corpus -------------------------------------------------------


def test_every_dev_message_builds_and_stays_bounded(dev_corpus: Path) -> None:
    paths = sorted((dev_corpus / "messages").glob("*.json"))
    assert paths
    for path in paths:
        message = from_graph(json.loads(path.read_text(encoding="utf-8")))
        assert message.id and message.internet_message_id and message.subject
        assert message.sender_address is not None and "@" in message.sender_address.address
        assert message.body_text and message.new_text, path.name
        assert len(message.body_text) <= MAX_TEXT_CHARS
        assert all(name == name.lower() for name in message.headers)


def test_outlook_reply_from_dev_corpus(dev_corpus: Path) -> None:
    message = from_graph(dev_message(dev_corpus, OUTLOOK_REPLY))
    assert message.subject == "RE: Fabrikam Logistics | Microsoft 365 licence review"
    assert "Just bumping this to the top of your inbox" in message.new_text
    assert "license optimization review" not in message.new_text
    assert "license optimization review" in message.quoted
    assert message.quoted_senders == ["v-rokapoor@microsoft.com"]
    assert message.from_ == Address("Rohan Kapoor (Brightmark Solutions LLC)", "v-rokapoor@microsoft.com")


def test_forward_with_a_comment_from_dev_corpus(dev_corpus: Path) -> None:
    message = from_graph(dev_message(dev_corpus, FORWARD))
    assert message.new_text.startswith("Dana – got this from someone at Microsoft yesterday.")
    assert "Azure credits" in message.quoted
    assert message.quoted_senders == ["rohanmehta@microsoft.com"]
    assert message.links[0].domain == "outlook.office.com"


def test_plain_text_reply_signature_from_dev_corpus(dev_corpus: Path) -> None:
    message = from_graph(dev_message(dev_corpus, PLAIN_TEXT_REPLY))
    assert message.new_text.endswith("15 minutes Thursday?")
    assert message.signature.startswith("Alyssa Greer\nAccount Executive, Bastion Point Security")
    assert message.quoted_senders == ["agreer@bastionpointsecurity.com"]


def test_french_signature_with_job_title_from_dev_corpus(dev_corpus: Path) -> None:
    message = from_graph(dev_message(dev_corpus, FRENCH_DELL))
    assert message.new_text.startswith("Bonjour M. Tremblay,")
    assert message.new_text.endswith("Au plaisir,")
    assert "Représentante des ventes – PME, Québec\nDell Technologies Canada" in message.signature


# --- Graph: shapes and bounds ------------------------------------------------------------


def test_null_and_missing_fields_give_an_empty_but_usable_message() -> None:
    message = from_graph(
        {
            "id": None,
            "subject": None,
            "from": {"emailAddress": None},
            "sender": None,
            "toRecipients": [
                None,
                {"emailAddress": {"name": None, "address": " Mixed.Case@Example.COM "}},
                7,
            ],
            "ccRecipients": None,
            "body": None,
            "internetMessageHeaders": None,
            "hasAttachments": None,
        }
    )
    assert message.subject == "" and message.from_ is None and message.sender_address is None
    assert message.to == [Address("", "mixed.case@example.com")]
    assert message.body_text == message.new_text == ""
    assert message.headers == {} and message.header("received") == ""
    assert from_graph({}).body_text == ""


@pytest.mark.parametrize("data", [None, "a message", ["list"], 42, b"{}"])
def test_non_objects_are_not_messages(data: object) -> None:
    with pytest.raises(MessageError):
        from_graph(data)


def test_graph_error_and_collection_page_are_named() -> None:
    with pytest.raises(MessageError, match="error response"):
        from_graph({"error": {"code": "ErrorItemNotFound", "message": "gone"}})
    with pytest.raises(MessageError, match="collection page"):
        from_graph({"@odata.context": "x", "value": [{"id": "1"}]})


def test_headers_are_lower_cased_and_bounded() -> None:
    headers = [{"name": "Received", "value": f"from hop{i}"} for i in range(250)]
    headers.insert(0, {"name": "Authentication-Results", "value": "spf=pass " + "x" * 20_000})
    headers.insert(1, {"name": None, "value": "ignored"})
    message = from_graph({"id": "1", "internetMessageHeaders": headers})
    assert sum(len(values) for values in message.headers.values()) == 199  # 200 entries, one nameless
    assert len(message.header("Authentication-Results")) == 8 * 1024
    assert message.headers["received"][:2] == ["from hop0", "from hop1"]


def test_subject_names_and_recipients_are_cleaned() -> None:
    message = from_graph(
        {
            "subject": "Free\u200b Azure\ncredits \u202eexpire\u202c",
            "from": {
                "emailAddress": {"name": "Micro\u00adsoft\u00a0Sales", "address": "Sales@Microsoft.com"}
            },
            "replyTo": [{"emailAddress": {"name": "Rep", "address": "not an address"}}],
            "body": {"contentType": "text", "content": "Hello"},
        }
    )
    assert message.subject == "Free Azure credits expire"
    assert message.from_ == Address("Microsoft Sales", "sales@microsoft.com")
    assert message.reply_to == [Address("Rep", "")]


def test_text_body_preview_fallback_unique_body_and_attachments() -> None:
    message = from_graph(
        {
            "subject": "Quote",
            "body": {"contentType": "text", "content": None},
            "bodyPreview": "Please find our offer for 25 Dell laptops.",
            "hasAttachments": False,
            "attachments": [
                {"name": "Offer.pdf", "isInline": False},
                {"name": "image001.png", "isInline": True},
            ],
        }
    )
    assert message.new_text == "Please find our offer for 25 Dell laptops."
    assert message.has_attachments and message.attachment_names == ["Offer.pdf"]

    message = from_graph(
        {
            "body": {
                "contentType": "html",
                "content": "<p>Newest words</p><p>On Mon, 2 Mar 2026 X wrote:</p>",
            },
            "uniqueBody": {"contentType": "html", "content": "<p>Newest words only</p>"},
        }
    )
    assert message.new_text == "Newest words only"


def test_twenty_megabyte_graph_body_is_bounded() -> None:
    content = "<p>" + "Upgrade your Microsoft 365 licences today. " * 500_000 + "</p>"
    started = time.perf_counter()
    message = from_graph({"id": "big", "body": {"contentType": "html", "content": content}})
    assert time.perf_counter() - started < 5
    assert message.body_truncated
    assert 0 < len(message.body_text) <= MAX_TEXT_CHARS


# --- RFC 822 -----------------------------------------------------------------------------


def test_german_outlook_eml_with_thread_and_attachments() -> None:
    message = from_eml((DATA / "message_outlook_reply_de.eml").read_bytes())
    assert message.subject == "AW: Ihre Microsoft 365 Lizenzen – kostenloser Workshop"
    assert message.from_ == Address("Jonas Weber", "jonas.weber@contoso-cloud.de")
    assert message.to == [Address("Anna Schmidt", "anna.schmidt@fabrikam.de")]
    assert message.received == "2026-03-04T08:15:00Z"
    assert message.internet_message_id.startswith("<AM0PR01MB1234A1B2C3D4E5F6@")
    assert "kostenlosen Workshop" in message.new_text  # the HTML part, not the plain one
    assert "plain part" not in message.body_text
    assert message.new_text.endswith("Mit freundlichen Grüßen")
    assert message.signature.startswith("Jonas Weber\nSenior Account Manager Modern Work")
    assert "was würde das kosten?" in message.quoted
    assert message.quoted_senders == ["anna.schmidt@fabrikam.de", "jonas.weber@contoso-cloud.de"]
    assert message.has_attachments and message.attachment_names == ["Angebot Lizenzübersicht.pdf"]
    assert message.header("thread-topic") == "Ihre Microsoft 365 Lizenzen"
    assert message.headers["received"][0].startswith("from AM0PR01MB1234.eurprd01.prod.outlook.com (")


def test_french_gmail_eml_in_a_mislabelled_charset() -> None:
    message = from_eml((DATA / "message_gmail_reply_fr.eml").read_bytes())
    assert message.new_text.startswith("Bonjour Claire,")
    assert "pour ce genre d’achat." in message.new_text  # windows-1252 quote in "ISO-8859-1"
    assert message.signature == "Camille"
    assert message.quoted.startswith("Le mer. 4 mars 2026 à 10:02, Claire Martin")
    assert message.quoted_senders == ["claire.martin@dell-partenaire.fr"]
    offer = [link for link in message.links if link.text == "Voir l’offre"]
    assert offer and offer[0].domain == "www.dell.com"  # Safe Links unwrapped


def test_unknown_charsets_and_invalid_bytes_degrade() -> None:
    message = from_eml((DATA / "message_broken_charset.eml").read_bytes())
    assert message.from_ == Address("Björn", "bjorn@example.se")
    assert message.subject == "Price’s list"
    assert message.body_text == "Hej! Café prices “attached” ÿþ and more."

    raw = b"From: a@b.com\nSubject: caf\xc3\xa9 \xff\nContent-Type: text/plain; charset=utf-8\n\nbody \xff\xfe caf\xc3\xa9\n"
    message = from_eml(raw)
    assert message.subject == "café \ufffd"  # raw 8-bit header, mostly UTF-8
    assert from_eml(b"From: a@b.com\nSubject: Caf\xe9 \x93x\x94\n\nx").subject == "Café “x”"  # 8-bit
    assert message.body_text == "body \ufffd\ufffd café"
    message.body_text.encode("utf-8")


def test_missing_boundary_keeps_the_text() -> None:
    message = from_eml((DATA / "message_no_boundary.eml").read_bytes())
    assert message.subject == "Missing boundary"
    assert "Book your free assessment today." in message.body_text


def test_encoded_words_and_dates() -> None:
    raw = (
        b"From: =?utf-8?q?Smith=2C_John?= <J.Smith@Vendor.COM>\n"
        b'To: "Park, Jason" <jason@fabrikam.com>,\n undisclosed-recipients:;\n'
        b"Subject: =?utf-8?B?4oCcRnJlZeKAnQ==?= =?utf-8?B?IGF1ZGl0?=\n"
        b"Date: Tue, 10 Feb 2026 10:37:00 -0600\n\nHello"
    )
    message = from_eml(raw)
    assert message.from_ == Address("Smith, John", "j.smith@vendor.com")
    assert message.to == [Address("Park, Jason", "jason@fabrikam.com")]
    assert message.subject == "“Free” audit"
    assert message.received == "2026-02-10T16:37:00Z"
    assert from_eml(b"From: a@b.com\nDate: someday\n\nx").received == ""


def test_twenty_megabyte_eml_is_bounded() -> None:
    raw = (
        b"From: a@b.com\nSubject: big\nContent-Type: text/html; charset=utf-8\n\n"
        + b"<p>"
        + b"Buy now. " * 2_300_000
    )
    started = time.perf_counter()
    message = from_eml(raw)
    assert time.perf_counter() - started < 10
    assert message.subject == "big" and message.body_truncated
    assert 0 < len(message.body_text) <= MAX_TEXT_CHARS


def test_deeply_nested_mime_still_gives_a_message() -> None:
    parts = [b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (i, i + 1) for i in range(1500)]
    raw = (
        b"From: a@b.com\nSubject: nest\nContent-Type: multipart/mixed; boundary=b0\n\n"
        + b"".join(parts)
        + b"deep"
    )
    started = time.perf_counter()
    message = from_eml(raw)
    assert time.perf_counter() - started < 2
    assert message.subject == "nest" and message.body_text.startswith("--b0\nContent-Type: multipart/mixed")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b" \r\n\r\n",
        b"just some words, no headers at all\n",
        b'{"subject": "json"}',
        b"\x89PNG\r\n\x1a\n\x00\x00",
    ],
)
def test_input_that_is_not_a_message_is_refused(raw: bytes) -> None:
    with pytest.raises(MessageError):
        from_eml(raw)
