"""Pure text helpers: cleaning, evasion-resistant folding, HTML to text, and splitting a body
into its newest part, signature and quoted history.

Everything is bounded so a hostile body costs no more than a big ordinary one: at most
MAX_HTML_CHARS of HTML are parsed, at most MAX_TEXT_CHARS of text kept, tag nesting deeper
than MAX_TAG_DEPTH is flattened, and nothing recurses over the document tree.

Speed matters (the classifier must do thousands of messages a second), so regular
expressions are guarded by cheap substring tests, and per-line work only touches the few
lines that can match.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from operator import sub
from urllib.parse import parse_qs, urlsplit

from selectolax.lexbor import LexborHTMLParser
from unidecode import unidecode

MAX_HTML_CHARS = 512 * 1024  # HTML parsed; the rest of a larger body is ignored
MAX_TEXT_CHARS = 100_000  # text kept from one body
MAX_LINKS = 200
MAX_LINK_TEXT = 300
MAX_URL = 2048
MAX_QUOTED_SENDERS = 50
MAX_TAG_DEPTH = 256  # lexbor's tree builder is quadratic in nesting depth; browsers cap it too
SIGNATURE_WINDOW = 12  # a sign-off further than this many non-empty lines from the end is content
_DEPTH_CHECK_TAGS = 2500  # below this many tags even the deepest nesting parses in ~10 ms


# --- clean -------------------------------------------------------------------------------

# Controls (tab and newline survive), invisible format characters used to split words
# ("Mi\u200bcrosoft"), bidi controls, fillers, variation selectors, tag characters, and lone
# surrogates (which nothing downstream can encode).
_JUNK = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u034f\u061c\u115f\u1160\u1680\u17b4\u17b5\u180b-\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0"
    "\U000e0000-\U000e007f\ud800-\udfff]"
)
_JUNK_ASCII = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
_AS_NEWLINE = frozenset("\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_SPACES = re.compile("  +")
_BLANK_LINES = re.compile("\n\n\n+")


def _junk(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _AS_NEWLINE:
        return "\n"
    if ch == "\u1680" or ch == "\x1f":
        return " "
    return "\ufffd" if "\ud800" <= ch <= "\udfff" else ""


def scrub(s: str) -> str:
    """Lone surrogates replaced and NULs dropped: the least a raw value (a header) needs to be
    stored and printed. Unlike clean(), everything else stays as given."""
    if not s.isascii():
        s = re.sub("[\ud800-\udfff]", "\ufffd", s)
    return s.replace("\x00", "") if "\x00" in s else s


def clean(s: str) -> str:
    """NFKC-normalised text without invisible or control characters; runs of spaces become
    one space, lines are stripped, and at most one blank line separates paragraphs."""
    if not isinstance(s, str):
        if isinstance(s, bytes | bytearray):
            s = bytes(s).decode("utf-8", "replace")
        else:
            s = "" if s is None else str(s)
    if not s:
        return ""
    if "\r" in s:
        s = s.replace("\r\n", "\n").replace("\r", "\n")
    if s.isascii():
        if not s.replace("\n", "").replace("\t", "").isprintable():
            s = _JUNK_ASCII.sub(_junk, s)
    else:
        s = _JUNK.sub(_junk, s)
        if "\xa0" in s:  # the commonest reason NFKC would have work to do
            s = s.replace("\xa0", " ")
        if not unicodedata.is_normalized("NFKC", s):
            s = unicodedata.normalize("NFKC", s)
    if "\t" in s:
        s = s.replace("\t", " ")
    if "  " in s:
        s = _SPACES.sub(" ", s)
    if " \n" in s:
        s = s.replace(" \n", "\n")
    if "\n " in s:
        s = s.replace("\n ", "\n")
    if "\n\n\n" in s:
        s = _BLANK_LINES.sub("\n\n", s)
    return s.strip()


def one_line(s: str, limit: int) -> str:
    """clean() for a subject, a name or a link text: one line of at most `limit` characters."""
    if not isinstance(s, str):
        s = clean(s)
    s = " ".join(s.split())
    if not (s.isascii() and s.isprintable()):
        s = " ".join(clean(s).split())
    return s[:limit]


# --- fold --------------------------------------------------------------------------------

# Letters of Greek, Cyrillic and Armenian that pass for Latin ones. Upper and lower case are
# mapped separately because the shapes differ (Cyrillic "Н" looks like "H", "н" like small-caps).
_CONFUSABLES = str.maketrans(
    {
        # Cyrillic
        "А": "A", "В": "B", "С": "C", "Е": "E", "Н": "H", "І": "I", "Ј": "J", "К": "K", "М": "M",
        "О": "O", "Р": "P", "Ѕ": "S", "Т": "T", "Х": "X", "У": "Y", "Ү": "Y", "Ԛ": "Q", "Ԝ": "W",
        "Ӏ": "I", "Ԁ": "D", "а": "a", "в": "b", "с": "c", "е": "e", "ё": "e", "һ": "h", "н": "h",
        "і": "i", "ї": "i", "ј": "j", "к": "k", "м": "m", "о": "o", "п": "n", "р": "p", "ѕ": "s",
        "т": "t", "у": "y", "ү": "y", "х": "x", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l", "ь": "b",
        "г": "r", "ш": "w",
        # Greek
        "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
        "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ϲ": "C", "α": "a", "β": "b", "γ": "y",
        "ε": "e", "η": "n", "ι": "i", "κ": "k", "μ": "u", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
        "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j",
        # Armenian
        "օ": "o", "ս": "u", "ց": "g", "հ": "h", "ո": "n", "զ": "q", "ա": "w",
    }
)  # fmt: skip
_FOREIGN = "\u0370-\u03ff\u0400-\u052f\u0531-\u058f\u1f00-\u1fff"
_FOREIGN_CHAR = re.compile(f"[{_FOREIGN}]")  # a plain class: much faster to search than a run
_FOREIGN_RUN = re.compile(f"[{_FOREIGN}]+")
_LATIN = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
_MIXED_PAIR = re.compile(f"[{_LATIN}][{_FOREIGN}]|[{_FOREIGN}][{_LATIN}]")
_WORD_AT = re.compile(r"\w+")
_LATIN_CHAR = re.compile(f"[{_LATIN}]")


def _fold_letter(ch: str) -> str:
    folded = ch.translate(_CONFUSABLES)
    if folded != ch:
        return folded
    if "\u0370" <= ch <= "\u1fff":
        guess = unidecode(ch)
        if len(guess) == 1 and guess.isalpha():
            return guess
    return ch


def _word_bounds(s: str, pos: int) -> tuple[int, int]:
    start = pos
    while start and (s[start - 1].isalnum() or s[start - 1] == "_"):
        start -= 1
    m = _WORD_AT.match(s, start)
    return start, (m.end() if m else pos + 1)


def fold(s: str) -> str:
    """A skeleton for evasion-resistant matching: clean(), then letters of other scripts that
    pass for Latin are folded inside words that mix scripts ("Mіcrosoft" with a Cyrillic "і"),
    then lower case. Words wholly in one non-Latin script stay (real Russian or Greek text),
    except look-alike-only words amid Latin text ("Асег" among English words). Diacritics
    stay: "Grüße" and "é" are letters, not evasion."""
    s = clean(s)
    if s.isascii() or not _FOREIGN_CHAR.search(s):
        return s.lower()
    words: dict[int, int] = {}  # start -> end of each word to fold
    for m in _MIXED_PAIR.finditer(s):
        start, end = _word_bounds(s, m.start())
        words[start] = end
    # Look-alike-only words count as disguise only in mostly-Latin text; stop early otherwise.
    runs: list[tuple[int, int]] = []
    foreign = 0
    for m in _FOREIGN_RUN.finditer(s):
        foreign += m.end() - m.start()
        if foreign * 4 > len(s):
            runs = []
            break
        runs.append(m.span())
    for start, _ in runs:
        word_start, word_end = _word_bounds(s, start)
        word = s[word_start:word_end]
        if (
            len(word) > 1
            and not _LATIN_CHAR.search(word)
            and all(ch.translate(_CONFUSABLES) != ch for ch in word if not ch.isdigit())
        ):
            words[word_start] = word_end
    if not words:
        return s.lower()
    out: list[str] = []
    last = 0
    for start in sorted(words):
        if start < last:
            continue
        end = words[start]
        out.append(s[last:start])
        out.append("".join(_fold_letter(ch) for ch in s[start:end]))
        last = end
    out.append(s[last:])
    return "".join(out).lower()


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
        selectors.extend(f'[style*="{rule}" i]' for rule in ("display:none", "display: none", "display :none") if rule in html)
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
    f'div[style*="border-top:{space}solid #{colour}" i]' for space in ("", " ") for colour in ("E1E1E1", "B5C4DF")
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


# --- quoted history ----------------------------------------------------------------------
# Matching runs on lower-cased lines; only lines that start or end with the right character
# reach a regular expression.

_FROM_HEADER = re.compile(r"\*?(?:from|von|de|van|da|fra|från|od)\*? ?:")
_OTHER_HEADER = re.compile(
    r"\*?(?:sent|date|to|cc|subject|reply-to|gesendet|datum|an|betreff|envoyé|à|objet|enviado el"
    r"|enviado|enviada em|enviada|fecha|para|asunto|verzonden|aan|onderwerp|inviato|data|a|oggetto"
    r"|assunto|sendt|til|emne|skickat|till|ämne|wysłano|do|temat|enviat|per a|assumpte|kopi|kopia|dw)\*? ?:"
)
_OTHER_HEADER_INLINE = re.compile(rf"\s{_OTHER_HEADER.pattern}")
_SEPARATOR = re.compile(
    r"-{2,} ?(?:original message|ursprüngliche nachricht|message d['’]origine|mensaje original"
    r"|oorspronkelijk bericht|messaggio originale|mensagem original|forwarded message"
    r"|weitergeleitete nachricht|message transféré|mensaje reenviado|doorgestuurd bericht"
    r"|messaggio inoltrato|mensagem encaminhada|mensagem reencaminhada|oprindelig meddelelse"
    r"|ursprungligt meddelande|opprinnelig melding|oryginalna wiadomość|missatge original"
    r"|videresendt meddelelse|vidarebefordrat meddelande|videresendt melding|przekazana wiadomość) ?-{2,}"
)
_FORWARD_INTRO = re.compile(
    r"(?:begin forwarded message|anfang der weitergeleiteten nachricht|début du message réexpédié"
    r"|inicio del mensaje reenviado|begin doorgestuurd bericht|inizio messaggio inoltrato"
    r"|início da mensagem reencaminhada) ?:"
)
_RULE = re.compile(r"_{10,}")
_WROTE_ENDINGS = tuple(
    f"{verb}{space}:"
    for verb in ("wrote", "escribió", "escribio", "escreveu", " a écrit", " ha scritto", "napisał(a)", "napisał",
                 "napisała", "va escriure")
    for space in ("", " ")
)
_WROTE = re.compile(
    r"(?:\bwrote|\bescribió|\bescribio|\bescreveu|(?<!\w)a écrit|\bha scritto|\bnapisał(?:\(a\)|a)?|\bva escriure) ?:$"
    r"|\b(?:schrieb|schreef|skrev)\b.{0,200}:$"
)
_ATTRIBUTION = re.compile(r"(?:on|am|le|el|op|il|em|den|w dniu)\s(?=.*\d).{3,400}?(?:" + _WROTE.pattern + ")")
_EMAIL = re.compile(r"[\w.+%'=-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)+")
_FROM_STARTS = frozenset("*fvdo")
_QUOTE_FIRSTS = frozenset("-_*fvdoFVDO")


def _says_wrote(line: str) -> bool:
    """Does this lower-cased line end like an attribution ("... wrote:", "... schrieb X:")?"""
    return line.endswith(_WROTE_ENDINGS) or (
        ("schrieb" in line or "schreef" in line or "skrev" in line) and _WROTE.search(line) is not None
    )


def _lower(text: str) -> str:
    low = text.lower()
    if len(low) != len(text):  # "İ" lower-cases to two characters; keep lines aligned
        low = text.replace("\u0130", "I").lower()
    return low


def _is_header_block(lines: list[str], i: int) -> bool:
    """A "From:" line followed closely by at least two other header lines (Sent/To/Subject...)."""
    if len(_OTHER_HEADER_INLINE.findall(lines[i].lower())) >= 2:
        return True
    return sum(1 for line in lines[i + 1 : i + 8] if _OTHER_HEADER.match(line.lower())) >= 2


def _attribution_start(lines: list[str], i: int) -> int:
    """First line of the "On <date>, <name> wrote:" attribution ending on line i, or -1.
    Clients wrap it, so up to two lines before are joined in."""
    for start in range(i, max(i - 3, -1), -1):
        if _ATTRIBUTION.match(" ".join(lines[start : i + 1]).lower()):
            return start
    if "@" in lines[i]:  # "Jane Doe <jane@example.com> wrote:"
        return i
    if i and "@" in lines[i - 1] and len(lines[i - 1]) < 120:
        return i - 1
    return -1


def _quote_start(lines: list[str]) -> int:
    """Index of the line where quoted or forwarded history begins, or -1."""
    # Only lines starting or ending with the right character can start history; picking
    # those first is several times cheaper than testing every line.
    candidates = [i for i, line in enumerate(lines) if line and (line[0] in _QUOTE_FIRSTS or line[-1] == ":")]
    for i in candidates:
        line = lines[i].lower()
        first = line[0]
        if first == "-" and _SEPARATOR.match(line):
            return i
        if first == "_" and _RULE.fullmatch(line):
            following = [next_line for next_line in lines[i + 1 : i + 3] if next_line]
            if following and _FROM_HEADER.match(following[0].lower()):
                return i
        if first in _FROM_STARTS and ":" in line[:9] and _FROM_HEADER.match(line) and _is_header_block(lines, i):
            return i
        if line[-1] == ":":
            if _FORWARD_INTRO.match(line):
                return i
            if _says_wrote(line):
                start = _attribution_start(lines, i)
                if start >= 0:
                    return start
    return -1


def split_quote(text: str) -> tuple[str, str]:
    """(newest part, quoted history) of cleaned text. The history starts at an attribution
    line ("On ... wrote:", "Am ... schrieb ...:", "Le ... a écrit :" ...), an "Original
    Message" or "Forwarded message" separator, or an Outlook header block ("From: / Sent: /
    To: / Subject:" and its translations). Lines starting with ">" are quoted too."""
    lines = text.split("\n")
    start = _quote_start(lines)
    new, quoted = (lines[:start], lines[start:]) if start >= 0 else (lines, [])
    if text.startswith(">") or "\n>" in text:
        kept = [line for line in new if not line.startswith(">")]
        if len(kept) != len(new):
            quoted = [line for line in new if line.startswith(">")] + quoted
            new = kept
    return "\n".join(new).strip(), "\n".join(quoted).strip()


def quoted_senders(quoted: str) -> list[str]:
    """Addresses named as senders in quoted history ("From: ... <a@b>", "On ..., X <a@b>
    wrote:"), in order of appearance: the oldest message's sender comes last."""
    senders: list[str] = []
    lines = _lower(quoted).split("\n")
    for i, raw_line in enumerate(lines):
        line = raw_line.lstrip("> ") if raw_line.startswith(">") else raw_line
        if not line or "@" not in line and line[-1] != ":":
            continue
        found = None
        if line[0] in _FROM_STARTS and ":" in line[:9] and _FROM_HEADER.match(line):
            found = _EMAIL.search(line, 0, 500)
        elif line[-1] == ":" and _says_wrote(line):
            found = _EMAIL.search(line)
            if not found and i:  # the address wrapped onto the line before
                found = _EMAIL.search(lines[i - 1])
        if found:
            senders.append(found.group().strip("."))
            if len(senders) >= MAX_QUOTED_SENDERS:
                break
    return senders


# --- signature ---------------------------------------------------------------------------

_SIGN_OFFS = (
    # en
    "best|best regards|regards|kind regards|kindest regards|warm regards|warmest regards|"
    "best wishes|with best regards|with kind regards|all the best|many thanks|thanks|thank you|"
    "thanks again|thanks so much|thank you so much|thanks in advance|thank you in advance|"
    "thanks for your time|thank you for your time|cheers|sincerely|yours sincerely|"
    "sincerely yours|yours truly|respectfully|talk soon|take care|"
    # de
    "viele grüße|mit freundlichen grüßen|mit freundlichem gruß|beste grüße|freundliche grüße|"
    "liebe grüße|herzliche grüße|schöne grüße|viele grüsse|mit freundlichen grüssen|beste grüsse|"
    "freundliche grüsse|grüße|gruß|mfg|lg|vg|danke|vielen dank|"
    # fr
    "cordialement|bien à vous|bien cordialement|très cordialement|salutations|"
    "meilleures salutations|sincères salutations|bien amicalement|amicalement|au plaisir|"
    "à bientôt|merci|merci beaucoup|bonne journée|"
    # es
    "saludos|atentamente|un saludo|saludos cordiales|un abrazo|gracias|muchas gracias|"
    # nl
    "met vriendelijke groet|met vriendelijke groeten|vriendelijke groet|groeten|groet|"
    "hartelijke groet|met hartelijke groet|bedankt|"
    # it
    "cordiali saluti|distinti saluti|saluti|un saluto|grazie|grazie mille|"
    # pt
    "atenciosamente|cumprimentos|melhores cumprimentos|com os melhores cumprimentos|abraço|"
    "abraços|um abraço|obrigado|obrigada"
)
_NAME = r"[A-ZÀ-ÖØ-Þ][\w.'’-]*(?: [A-ZÀ-ÖØ-Þ][\w.'’-]*){0,2}"
# The sign-off, optionally with the writer's name on the same line ("Thanks, Rohan").
_SIGN_OFF = re.compile(rf"(?i:{_SIGN_OFFS})(?: ?[,.!…]+)?(?: ?[,–—-]? ?{_NAME})? ?[,.!]*")
_DEVICE = re.compile(
    r"(?:sent from (?:my|outlook|mail|yahoo|samsung)\b|sent via \S|sent with \S|get outlook for "
    r"|von meinem \S.{0,40} gesendet|gesendet von (?:meinem|outlook|mail)|envoyé de mon |envoyé depuis "
    r"|obtenir outlook pour|enviado desde |obtener outlook para |verzonden (?:vanaf|met) "
    r"|inviato da |enviado do meu |enviado a partir do |enviado de meu |obtenha o outlook)",
    re.I,
)
_DEVICE_STARTS = frozenset(("sent", "get ", "von ", "gese", "envo", "obte", "envi", "verz", "invi"))
_SIGN_OFF_STARTS = frozenset(phrase.split()[0] for phrase in _SIGN_OFFS.split("|"))
_NAME_NOISE = re.compile(r"\(.*?\)|\[.*?\]|<.*?>|\".*?\"|\|.*")
_DELIMITERS = frozenset(("--", "-- ", "—"))


@lru_cache(maxsize=4096)
def _name_keys(sender_name: str) -> tuple[str, frozenset[str]]:
    """(full name, accepted lines) for recognising a signature that starts with the sender's
    name: "Rohan Kapoor (Contoso)" gives "rohan kapoor", and a line of just "rohan"."""
    name = " ".join(_NAME_NOISE.sub(" ", sender_name).split()).lower()
    if "@" in name:
        return "", frozenset()
    if name.count(",") == 1:  # "Kapoor, Rohan"
        last, first = (part.strip() for part in name.split(","))
        name = f"{first} {last}".strip()
    words = name.split()
    if not words or len(name) < 3:
        return "", frozenset()
    if len(words) >= 2 and len(words[0]) >= 2:
        return name, frozenset((name, words[0]))
    return name, frozenset((name,))


def _is_name_line(line: str, full: str, keys: frozenset[str]) -> bool:
    bare = line.lstrip("-–—~ ").rstrip(" ,.!").lower()
    if bare in keys:
        return True
    return bare.startswith(full) and bare[len(full) : len(full) + 1] in (" ", ",", "|", "-")


def split_signature(text: str, sender_name: str = "") -> tuple[str, str]:
    """(body, signature) of the newest part. The signature is the block after a "-- " line
    or after a sign-off ("Best regards,", "Mit freundlichen Grüßen", "Cordialement"...) in
    the last SIGNATURE_WINDOW lines, from a line naming the sender, or from a "Sent from my
    iPhone" line. The sign-off itself stays in the body."""
    lines = text.split("\n")
    first = next((i for i, line in enumerate(lines) if line), len(lines))
    window: list[int] = []  # non-empty lines from the end, the greeting line excluded
    for i in range(len(lines) - 1, first, -1):
        if lines[i]:
            window.append(i)
            if len(window) == SIGNATURE_WINDOW:
                break
    if not window:
        return text, ""
    full, keys = _name_keys(sender_name[:200]) if sender_name else ("", frozenset())
    cut = len(lines)
    skip = -1
    following = ""  # the next non-empty line below the one being looked at
    for i in window:
        line = lines[i]
        if len(line) > 120:  # a paragraph: neither sign-off, name nor device line
            following = line
            continue
        if line in _DELIMITERS:
            cut, skip = i, i
        elif (line[:4].lower() in _DEVICE_STARTS and _DEVICE.match(line)) or (
            keys and _is_name_line(line, full, keys)
        ):
            cut = i
        elif (
            len(line) <= 60
            and 0 < len(following) <= 60  # a name or title follows, not more of the message
            and not following.endswith("?")
            and line.split(None, 1)[0].rstrip(",.!…").lower() in _SIGN_OFF_STARTS
            and _SIGN_OFF.fullmatch(line)
        ):
            cut = min(cut, i + 1)
        following = line
    if cut >= len(lines):
        return text, ""
    body = "\n".join(lines[:cut]).strip()
    kept = lines[cut:skip] + lines[skip + 1 :] if skip >= cut else lines[cut:]
    return body, "\n".join(kept).strip()


# --- whole bodies ------------------------------------------------------------------------


@dataclass(slots=True)
class BodyParts:
    """A body split for the detectors (all cleaned and bounded)."""

    text: str = ""  # everything
    new: str = ""  # newest part without signature and quoted history
    signature: str = ""
    quoted: str = ""
    quoted_senders: list[str] = field(default_factory=list)
    links: list[tuple[str, str, str]] = field(default_factory=list)  # (url, text, host)
    truncated: bool = False


def _strip_delimiter(signature: str) -> str:
    first, _, rest = signature.partition("\n")
    return rest.strip() if first.strip() in _DELIMITERS else signature


def _finish(parts: BodyParts, head: str, sender_name: str, signature: str = "") -> None:
    """Split `head` (cleaned text before any quote marker) and fill in the parts."""
    new, quoted = split_quote(head)
    if quoted:  # the HTML signature marker sat inside text that is itself quoted history
        parts.quoted = "\n".join(x for x in (quoted, signature, parts.quoted) if x)
        signature = ""
    if signature:
        parts.new, parts.signature = new, _strip_delimiter(signature)
    else:
        parts.new, parts.signature = split_signature(new, sender_name)
    if parts.quoted:
        parts.quoted_senders = quoted_senders(parts.quoted)


def parse_text(text: str, sender_name: str = "") -> BodyParts:
    """Split a plain-text body; `sender_name` helps find a signature that starts with it."""
    parts = BodyParts()
    if not text:
        return parts
    if len(text) > MAX_HTML_CHARS:
        text, parts.truncated = text[:MAX_HTML_CHARS], True
    text = clean(text)
    if len(text) > MAX_TEXT_CHARS:
        text, parts.truncated = text[:MAX_TEXT_CHARS], True
    parts.text = text
    _finish(parts, text, sender_name)
    _add_bare_links(parts.links, text)
    return parts


def parse_html(html: str, sender_name: str = "") -> BodyParts:
    """Split an HTML body: quote and signature markers of Outlook, Gmail, Apple Mail and
    Thunderbird are found in the tree, then the text rules of parse_text() apply."""
    parts = BodyParts()
    if not html:
        return parts
    doc = _render(html)
    parts.truncated = doc.truncated
    root = doc.tree.body if doc.tree.body is not None else doc.tree.root
    lowered = doc.html
    if "href" in lowered:
        for a in root.css("a[href]"):
            link = make_link(a.attrs.get("href") or "", a.text())
            if link:
                parts.links.append(link)
                if len(parts.links) >= MAX_LINKS:
                    break
    if "blockquote" in doc.tags or any(hint in lowered for hint in _QUOTE_HINTS):
        for node in root.css(_QUOTE_MARKERS):
            node.insert_before(_QUOTE)
    if "border-top" in lowered and ("e1e1e1" in lowered or "b5c4df" in lowered):
        for node in root.css(_OUTLOOK_BORDER):
            header = node.text()[:1000].replace(_BREAK, "\n").replace(_BLOCK, "\n").lower()
            if any(_FROM_HEADER.match(line.strip()) for line in header.split("\n")):
                node.insert_before(_QUOTE)
    if "signature" in lowered:
        for node in root.css(_SIGNATURE_MARKERS):
            node.insert_before(_SIGN)
    text = _document_text(doc)
    if len(text) > MAX_TEXT_CHARS:
        text, parts.truncated = text[:MAX_TEXT_CHARS], True
    head, _, quoted = text.partition(_QUOTE)
    head, _, signature = head.partition(_SIGN)
    head = clean(head)
    if signature:
        signature = clean(signature.replace(_SIGN, ""))
    if quoted:
        parts.quoted = clean(quoted.replace(_QUOTE, "").replace(_SIGN, ""))
    parts.text = "\n".join(x for x in (head, signature, parts.quoted) if x)
    _finish(parts, head, sender_name, signature)
    _add_bare_links(parts.links, parts.text)
    return parts


_LOOKS_HTML = re.compile(r"<(?:html|body|div|p|br|table|span|a|b|font|meta|head)\b", re.I)


def parse_body(content: str, content_type: str = "", sender_name: str = "") -> BodyParts:
    """parse_html() or parse_text() by content type ("html"/"text"); sniffed when unknown."""
    kind = (content_type or "").lower()
    if "html" in kind or (not kind and _LOOKS_HTML.search(content, 0, 2000)):
        return parse_html(content, sender_name)
    return parse_text(content, sender_name)
