"""detectors.markup: HTML to text and links, bounded against hostile HTML."""

from __future__ import annotations

import time

from detectors.body import parse_html
from detectors.markup import MAX_LINKS, MAX_TEXT_CHARS, bare_urls, html_to_text, make_link


def test_html_to_text_drops_invisible_parts_and_keeps_blocks_as_lines() -> None:
    html = """<html><head><title>Title text</title><style>p {color: red}</style></head><body>
    <span style="display:none;max-height:0;overflow:hidden">Preheader nobody sees</span>
    <!-- a comment -->
    <script>alert("x")</script>
    <div class="mso" style="mso-hide:all">Outlook-only hidden</div>
    <p style="font-size:0px;color:#fff">salt words</p><p hidden>attribute hidden</p>
    <span style="VISIBILITY: HIDDEN">invisible</span>
    <div>Hello&nbsp;<b>Jason</b>,</div><div><br></div>
    <p>Price: 10&nbsp;&euro; &amp; more</p><ul><li>one</li><li>two</li></ul>
    <table><tr><td>Seats</td><td>25</td></tr></table>
    <img src="https://track.example/o.gif" width="1" height="1" alt="">
    </body></html>"""
    assert html_to_text(html) == "Hello Jason,\n\nPrice: 10 € & more\none\ntwo\nSeats\n25"


def test_html_to_text_survives_very_deep_nesting() -> None:
    html = "<div>" * 100_000 + "deep text" + "</div>" * 100_000
    started = time.perf_counter()
    assert html_to_text(html) == "deep text"
    assert time.perf_counter() - started < 5


def test_huge_html_is_bounded_in_time_and_size() -> None:
    row = "<div><p>Hello <b>world</b> &amp; <a href='https://example.com/x'>link</a></p></div>\n"
    html = "<html><body>" + row * 70_000 + "</body></html>"  # about 6 MB
    started = time.perf_counter()
    parts = parse_html(html)
    elapsed = time.perf_counter() - started
    assert parts.truncated
    assert len(parts.text) <= MAX_TEXT_CHARS
    assert parts.text.startswith("Hello world & link\nHello world & link")
    assert len(parts.links) == MAX_LINKS
    assert elapsed < 2  # ~50 ms on the development machine; generous for a busy CI box


def test_injected_sentinel_characters_cannot_fake_a_quote() -> None:
    # Control characters (raw or as references) must not cut the newest part short.
    parts = parse_html("<p>Intro</p><p>&#3;&#x04;\x03Book a free Azure migration workshop</p>")
    assert "Book a free Azure migration workshop" in parts.new
    assert parts.quoted == ""


def test_open_tracking_images_are_tiny_and_name_one_mail() -> None:
    html = (
        "<p>Hi</p><img src='https://logo.example/logo.png' width='120' height='40'>"
        "<img src='https://cdn.example/divider.gif' width='600' height='1'>"
        "<img src='https://cdn.example/rule.gif' width='1' height='1' style='width:100%'>"
        "<img src='https://sig.example/images/spacer.gif' width='1' height='1'>"
        "<img src='https://email.seller.example/t/o/MTg0NDcy.gif' width='1' height='1' alt=''>"
        "<img src='https://trk.other.example/open.png?u=7' style='line-height: 20px; width: 1px; height: 1px'>"
        "<img src='https://beacon.third.example/p/b7e4a2c19d.gif' width=0px height=0px>"
    )
    assert parse_html(html).pixels == ["email.seller.example", "trk.other.example", "beacon.third.example"]


def test_images_alternative_texts_are_kept_apart_from_the_text() -> None:
    html = (
        "<p>Stéphane Pittet</p><img src='cid:image001.png' alt=' Alpvox\nTélécom SA '>"
        "<img src='cid:image002.png' alt=''><img src='cid:image003.png' alt='Alpvox Télécom SA'>"
    )
    assert parse_html(html).image_alts == ["Alpvox Télécom SA"]


def test_links_from_anchors_bare_urls_and_safe_links() -> None:
    html = (
        '<p>Book <a href=" https://Outlook.Office.com/bookwithme/user/x ">a meeting</a> or '
        '<a href="https://eur01.safelinks.protection.outlook.com/?url=https%3A%2F%2Fevil.example%2Flogin&amp;data=1">'
        "sign in</a>, see https://www.dell.com/offer. or <a href='mailto:rep@dell.com'>mail</a>"
        '<a href="#top">top</a></p>'
    )
    links = parse_html(html).links
    assert links == [
        ("https://Outlook.Office.com/bookwithme/user/x", "a meeting", "outlook.office.com"),
        ("https://evil.example/login", "sign in", "evil.example"),
        ("mailto:rep@dell.com", "mail", ""),
        ("https://www.dell.com/offer", "", "www.dell.com"),
    ]
    assert make_link("https://[::1]:8443/x")[2] == "::1"
    assert bare_urls("(see https://example.com/a_(b)) and http://x.io/q?a=1,") == [
        "https://example.com/a_(b)",
        "http://x.io/q?a=1",
    ]
