"""HTML to text, and the links of a body.

Everything is bounded so a hostile body costs no more than a big ordinary one: at most
MAX_HTML_CHARS of HTML are parsed, tag nesting deeper than MAX_TAG_DEPTH is flattened, and
nothing recurses over the document tree. Regular expressions are guarded by cheap substring
tests, since the classifier must do thousands of messages a second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import accumulate
from operator import sub
from urllib.parse import parse_qs, urlsplit

from selectolax.lexbor import LexborHTMLParser

from detectors.text import clean, one_line

MAX_HTML_CHARS = 512 * 1024  # HTML parsed; the rest of a larger body is ignored
MAX_TEXT_CHARS = 100_000  # text kept from one body
MAX_LINKS = 200
MAX_LINK_TEXT = 300
MAX_URL = 2048
MAX_TAG_DEPTH = 256  # lexbor's tree builder is quadratic in nesting depth; browsers cap it too
_DEPTH_CHECK_TAGS = 2500  # below this many tags even the deepest nesting parses in ~10 ms

# --- HTML to text ------------------------------------------------------------------------

# Sentinels placed in the HTML before parsing (block boundaries, hard breaks, and no-break
# spaces so that str.split() keeps "<p>&nbsp;</p>" as an empty line) or in the tree (quote and
# signature starts). They are ASCII controls that str.split() does not count as whitespace,
# so an ASCII document stays a one-byte string (every later step is faster on those). Any
# already in the input are removed first.
_BLOCK = "\x01"
_BREAK = "\x02"
_QUOTE = "\x03"
_SIGN = "\x04"
_NBSP = "\x05"
_SENTINELS = (_BLOCK, _BREAK, _QUOTE, _SIGN, _NBSP)
_SENTINEL_REFS = re.compile(r"&#(?:[xX]0*|0*)[1-5](?![0-9a-fA-F]);?")
_BLOCK_NAMES = (
    "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr",
    "li", "main", "nav", "ol", "p", "pre", "section", "table", "ul",
)  # fmt: skip
# One pass marks block boundaries: before block tags, and before </td> and </th> (a character
# before <td> would be foster-parented out of the table). Case-sensitive alternatives because
# an IGNORECASE pattern is three times slower here.
_BLOCK_TAG = re.compile(
    r"<(?=/?(?:"
    + "|".join(_BLOCK_NAMES + tuple(name.upper() for name in _BLOCK_NAMES))
    + r")[\s/>]|/[tT][dDhH][\s>])"
)
# Tags that never nest: void, or closed implicitly by the next sibling of their kind.
_FLAT_TAGS = (
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "p", "li", "dt", "dd", "option", "tr", "td", "th",
)  # fmt: skip
_NESTING = r"<(/?)(?!(?:" + "|".join(_FLAT_TAGS + tuple(t.upper() for t in _FLAT_TAGS)) + r")[\s/>])[a-zA-Z]"
_NESTING_TAG = re.compile(_NESTING)
_NESTING_TOKEN = re.compile("(" + _NESTING + "[^>]*>)")
_DEPTH_STEP = {"": 1, "/": -1}
_DROP = "script, style, title, template, noscript, xml, object, iframe"
_DROP_TAGS = frozenset(("script", "style", "title", "template", "noscript", "xml", "object", "iframe"))
_PREFORMATTED = "pre, textarea, xmp, listing, plaintext"
_PREFORMATTED_TAGS = frozenset(("pre", "textarea", "xmp", "listing", "plaintext"))
# Tags worth a selector; each css() call walks the whole tree once per selector, and most
# mail has none of these. (Markers in attributes are found with plain substring tests: one
# regular expression for all of them costs more than the selectors it saves.)
_HINT_TAGS = re.compile(
    r"<(script|style|title|template|noscript|xml|object|iframe|pre|textarea|xmp|listing|plaintext"
    r"|blockquote)[\s/>]"
)
# Enough to open the quote selectors: Outlook's other markers come with "divRplyFwdMsg" or
# hold a "From:/Sent:" block that the text rules find anyway.
_QUOTE_HINTS = ("divrplyfwdmsg", "_quote", "moz-cite", "reference-message")
_FONT_SIZE_ZERO = (
    '[style*="font-size:0;" i]',
    '[style*="font-size: 0;" i]',
    '[style*="font-size:0px" i]',
    '[style*="font-size: 0px" i]',
    '[style*="font-size:0pt" i]',
    '[style$="font-size:0" i]',
    '[style$="font-size: 0" i]',
)
_OPACITY_ZERO = ('[style*="opacity:0;" i]', '[style*="opacity: 0;" i]', '[style$="opacity:0" i]')


def _hidden_selectors(html: str) -> list[str]:
    """Selectors for the ways of hiding an element that this (lower-cased) document may use."""
    selectors = []
    if "display" in html:
        selectors.extend(
            f'[style*="{rule}" i]'
            for rule in ("display:none", "display: none", "display :none")
            if rule in html
        )
    if "mso-hide" in html:
        selectors.extend(('[style*="mso-hide:all" i]', '[style*="mso-hide: all" i]'))
    if "hidden" in html:
        selectors.append("[hidden]")
        if "visibility" in html:
            selectors.extend(('[style*="visibility:hidden" i]', '[style*="visibility: hidden" i]'))
    if "size:0" in html or "size: 0" in html:
        selectors.extend(_FONT_SIZE_ZERO)
    if "opacity" in html:
        selectors.extend(_OPACITY_ZERO)
    return selectors


_QUOTE_MARKERS = ", ".join(
    (
        '[id$="divRplyFwdMsg"]',  # Outlook (Exchange prefixes "x_" when it quotes again)
        '[id$="appendonsend"]',
        '[id="mail-editor-reference-message-container"]',
        "div.gmail_quote",
        "blockquote",  # includes Apple's type=cite and Gmail's blockquote.gmail_quote
        ".moz-cite-prefix",  # Thunderbird's "On ... wrote:" line
        ".yahoo_quoted",
        "div.OutlookMessageHeader",
    )
)
# Classic Outlook puts the quoted header in a div with a thin top border; it must hold "From:".
_OUTLOOK_BORDER = ", ".join(
    f'div[style*="border-top:{space}solid #{colour}" i]'
    for space in ("", " ")
    for colour in ("E1E1E1", "B5C4DF")
)
_SIGNATURE_MARKERS = ", ".join(
    (
        '[id="Signature" i]',
        '[id$="ms-outlook-mobile-signature"]',
        '[id="AppleMailSignature"]',
        ".gmail_signature_prefix",
        ".gmail_signature",
        ".moz-signature",
    )
)
# A <br> ends a line even when the line is empty; block boundaries collapse. So a <br> is
# marked as a break character (which keeps its line non-empty) followed by a boundary.
_LINE_END = _BREAK + _BLOCK


def _max_depth(html: str) -> int:
    """Deepest tag nesting, counted the way a parser would (stray end tags are ignored).
    Computed with C-level iteration: this runs on big documents."""
    prefix = list(accumulate(map(_DEPTH_STEP.__getitem__, _NESTING_TAG.findall(html)), initial=0))
    return max(map(sub, prefix, accumulate(prefix, min)))


def _limit_depth(html: str) -> str:
    """Drop tags nested deeper than MAX_TAG_DEPTH (their text stays)."""
    parts = _NESTING_TOKEN.split(html)  # text, tag, "/" or "", text, tag, ...
    depth = 0
    for i in range(1, len(parts), 3):
        tag = parts[i]
        if tag.endswith("/>"):
            continue
        if parts[i + 1]:  # an end tag
            if depth > MAX_TAG_DEPTH:
                parts[i] = ""
            depth = max(depth - 1, 0)
        else:
            depth += 1
            if depth > MAX_TAG_DEPTH:
                parts[i] = ""
    del parts[2::3]
    return "".join(parts)


@dataclass(slots=True)
class _Document:
    tree: LexborHTMLParser
    html: str  # lower-cased, without the head: to skip selectors that cannot match
    tags: set[str]  # which of the _HINT_TAGS it has
    truncated: bool


def _render(html: str) -> _Document:
    """Parse bounded, sentinel-marked HTML with invisible parts removed."""
    truncated = len(html) > MAX_HTML_CHARS
    if truncated:
        html = html[:MAX_HTML_CHARS]
    head_end = html.find("</head>")
    if head_end < 0:
        head_end = html.find("</HEAD>")
    if head_end >= 0 and html.find("<body", 0, head_end) < 0 and html.find("<BODY", 0, head_end) < 0:
        html = html[head_end + 7 :]  # never shown, and Word-made heads are kilobytes of CSS
    for sentinel in _SENTINELS:
        if sentinel in html:
            html = html.replace(sentinel, "")
    if "&#" in html:
        html = _SENTINEL_REFS.sub("", html)
    if (
        len(html) > 3 * _DEPTH_CHECK_TAGS
        and html.count("<") > _DEPTH_CHECK_TAGS
        and _max_depth(html) > MAX_TAG_DEPTH
    ):
        html = _limit_depth(html)
    html = _BLOCK_TAG.sub(_BLOCK + "<", html)
    if "<br" in html:
        html = html.replace("<br", _LINE_END + "<br")
    if "<BR" in html:
        html = html.replace("<BR", _LINE_END + "<BR")
    lowered = html.lower()
    tags = set(_HINT_TAGS.findall(lowered))
    tree = LexborHTMLParser(html)
    root = tree.body if tree.body is not None else tree.root
    if not tags.isdisjoint(_DROP_TAGS):
        for node in root.css(_DROP):
            node.remove()
    hidden = _hidden_selectors(lowered)
    if hidden:
        # remove(), not decompose(): a hidden node inside another hidden node must stay valid.
        for node in root.css(", ".join(hidden)):
            node.remove()
    if not tags.isdisjoint(_PREFORMATTED_TAGS):
        for node in root.css(_PREFORMATTED):
            node.replace_with(node.text().replace("\n", _LINE_END))
    return _Document(tree, lowered, tags, truncated)


def _document_text(doc: _Document) -> str:
    """The text of the body: whitespace collapsed as a browser would, block boundaries and
    <br> as line breaks. Quote and signature sentinels stay in place."""
    root = doc.tree.body if doc.tree.body is not None else doc.tree.root
    text = root.text() if root is not None else ""
    if "\xa0" in text:  # not whitespace to split(), so "<p>&nbsp;</p>" stays an empty line
        text = text.replace("\xa0", _NBSP)
    text = " ".join(text.split())
    text = text.replace(" " + _BLOCK, _BLOCK).replace(_BLOCK + " ", _BLOCK)
    text = "\n".join(filter(None, text.split(_BLOCK)))  # runs of boundaries: one line break
    if _BREAK in text:
        text = text.replace(_BREAK, "")
    return text.replace(_NBSP, " ") if _NBSP in text else text


def html_to_text(html: str) -> str:
    """Visible text of an HTML body: no script, style, head, comments or hidden elements;
    block elements and <br> become line breaks; entities decoded; cleaned and bounded."""
    if not html:
        return ""
    return clean(_document_text(_render(html))[:MAX_TEXT_CHARS])


# --- links -------------------------------------------------------------------------------

_URL_REST = re.compile(r"[^\s<>\"'`\x01-\x05]+")
_URL_TAIL = ".,;:!?)]}>'\"*"
_URL_SPACE = re.compile(r"[\s\x00-\x1f]+")
# scheme://[user@](host | [ipv6])  - browsers end the authority at "\\" too
_URL_HOST = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]{0,9}://(?:[^/?#\\@]*@)?(?:\[([^\]/?#\\]*)\]|([^:/?#\\]*))")


def _host(url: str) -> str:
    """Lower-case host of an absolute URL ("" for mailto:, relative...). One regular
    expression: urlsplit() costs more than all the rest of a link."""
    m = _URL_HOST.match(url)
    if not m:
        return ""
    return (m.group(1) or m.group(2)).lower().rstrip(".")


def make_link(url: str, text: str = "") -> tuple[str, str, str] | None:
    """(url, visible text, lower-case host) for a link, or None for an empty or in-page one.
    Outlook Safe Links are unwrapped so the host is the real destination."""
    url = url.strip() if url else ""
    if not url.isprintable() or " " in url:
        url = _URL_SPACE.sub("", url)
    if len(url) > MAX_URL:
        url = url[:MAX_URL]
    if not url or url[0] == "#":
        return None
    host = _host(url)
    if host.endswith("safelinks.protection.outlook.com"):
        try:
            target = parse_qs(urlsplit(url).query).get("url", [""])[0]
        except ValueError:
            target = ""
        if target[:8].lower().startswith(("http://", "https://")):
            url, host = target[:MAX_URL], _host(target)
    if text:
        text = one_line(text.replace(_BLOCK, " ").replace(_BREAK, " ").replace(_NBSP, " "), MAX_LINK_TEXT)
    return url, text, host


# An image of at most one pixel each way, at an address that names one recipient or one mail,
# is an open-tracking beacon: nobody is meant to see it. A spacer ("/images/spacer.gif") names
# nothing. Sizes are written as attributes ("1", "0px") or in the style ("height: 1px").
_TINY_SIZES = ("0", "1", "0px", "1px")
_TINY_STYLES = ("height:0", "height: 0", "height:1px", "height: 1px")
_PIXEL_HINT = re.compile(r"height\s*[=:]\s*[\"']?[01](?:px)?(?![\d.])")
_PIXEL_SELECTOR = ", ".join(
    [f'img[src][height="{size}" i]' for size in _TINY_SIZES]
    + [f'img[src][style*="{size}" i]' for size in _TINY_STYLES]
)
_STYLE_SIZE = re.compile(r"(?<![\w-])(width|height)\s*:\s*([0-9.]+[a-z%]*)")
_PATH_WORD = re.compile(r"[\w=+-]{8,}")
MAX_PIXELS = 3
MAX_PIXEL_CANDIDATES = 20  # a beacon is one image; a page of them is no one-to-one mail anyway


def _names_one_mail(url: str, host: str) -> bool:
    """Does the address carry a query or an identifier: digits, or letters in both cases as base64
    writes them ("MTg0NDcy", "267655", "bWVyZWRp")? A spacer does not."""
    at = url.lower().find(host)  # the host as written may have capitals
    rest = (url[at + len(host) :] if at >= 0 else url)[:MAX_URL]
    return "?" in rest or any(
        any(c.isdigit() for c in word) or not (word.islower() or word.isupper())
        for word in _PATH_WORD.findall(rest)
    )


def _tiny(attrs: dict[str, str | None]) -> bool:
    size = {name: (attrs.get(name) or "").strip().lower().removesuffix("px") for name in ("width", "height")}
    style = (attrs.get("style") or "").lower()
    for name, value in _STYLE_SIZE.findall(style):
        size[name] = value.removesuffix("px")
    return size["width"] in ("0", "1") and size["height"] in ("0", "1")


def pixel_hosts(doc: _Document) -> list[str]:
    """Hosts of the open-tracking images of a rendered body (at most MAX_PIXELS)."""
    if "<img" not in doc.html or not _PIXEL_HINT.search(doc.html):
        return []
    root = doc.tree.body if doc.tree.body is not None else doc.tree.root
    hosts: list[str] = []
    for img in root.css(_PIXEL_SELECTOR)[:MAX_PIXEL_CANDIDATES]:
        src = img.attrs.get("src") or ""
        host = _host(src)
        if host and host not in hosts and _tiny(img.attrs) and _names_one_mail(src, host):
            hosts.append(host)
            if len(hosts) >= MAX_PIXELS:
                break
    return hosts


MAX_IMAGE_ALTS = 10


def image_alts(doc: _Document) -> list[str]:
    """The alternative texts of a rendered body's first images: a signature's logo often holds
    the only spelling of the company's name ("Alpvox Télécom SA")."""
    if "alt=" not in doc.html:
        return []
    root = doc.tree.body if doc.tree.body is not None else doc.tree.root
    alts: list[str] = []
    for img in root.css("img[alt]")[: 2 * MAX_IMAGE_ALTS]:
        alt = one_line((img.attrs.get("alt") or "")[:400], 100)
        if alt and alt not in alts:
            alts.append(alt)
            if len(alts) >= MAX_IMAGE_ALTS:
                break
    return alts


def bare_urls(text: str) -> list[str]:
    """http(s) URLs written out in plain text, without trailing punctuation."""
    urls: list[str] = []
    at = text.find("://")
    while at >= 0 and len(urls) < MAX_LINKS:
        scheme = text[max(at - 5, 0) : at].lower()
        start = at - 5 if scheme.endswith("https") else at - 4 if scheme.endswith("http") else -1
        rest = _URL_REST.match(text, at + 3)
        end = rest.end() if rest else at + 3
        if start >= 0 and rest and not (start and (text[start - 1].isalnum())):
            raw = text[start:end]
            url = raw.rstrip(_URL_TAIL)
            if url.count("(") > url.count(")") and raw[len(url) : len(url) + 1] == ")":
                url += ")"
            urls.append(url)
        at = text.find("://", end)
    return urls


def _add_bare_links(links: list[tuple[str, str, str]], text: str) -> None:
    if "://" not in text:
        return
    seen = {link[0] for link in links}
    for url in bare_urls(text):
        if len(links) >= MAX_LINKS:
            return
        link = make_link(url)
        if link and link[0] not in seen:
            seen.add(link[0])
            links.append(link)
