"""Pure text helpers: cleaning, evasion-resistant folding, HTML to text, and splitting a body
into its newest part, signature and quoted history.

Every function is bounded so a hostile body costs no more than a big ordinary one: at most
MAX_HTML_CHARS of HTML are parsed, at most MAX_TEXT_CHARS of text kept, tag nesting is
flattened beyond MAX_TAG_DEPTH, and no function recurses over the document tree.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
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
_DEPTH_CHECK_TAGS = 1500  # below this many tags even the deepest nesting parses in a few ms
SIGNATURE_WINDOW = 12  # a sign-off further than this many non-empty lines from the end is content


# --- clean -------------------------------------------------------------------------------

_NEWLINES = re.compile("\r\n?|[\x0b\x0c\x85\u2028\u2029]")
# Controls (tab and newline survive), invisible format characters used to split words
# ("Mi\u200bcrosoft"), bidi overrides, fillers, variation selectors, tag characters, and lone
# surrogates (which cannot be encoded anywhere downstream).
_JUNK = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f"
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f"
    "\ud800-\udfff]"
)
_HSPACE = re.compile(r"[^\S\n]{2,}|[^\S\n ]")  # a run of 2+, or one tab/NBSP/thin space...
_LINE_EDGES = re.compile(r" *\n *")
_BLANK_LINES = re.compile(r"\n{3,}")


def _junk(match: re.Match[str]) -> str:
    return "\ufffd" if "\ud800" <= match.group() <= "\udfff" else ""


def scrub(s: str) -> str:
    """Replace lone surrogates and drop NULs: the minimum for a raw value (a header) to be
    storable and printable. Unlike clean(), keeps everything else as given."""
    if s.isascii():
        return s.replace("\x00", "")
    return re.sub("[\ud800-\udfff]", "\ufffd", s).replace("\x00", "")


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
    s = _NEWLINES.sub("\n", s)
    s = _JUNK.sub(_junk, s)
    if not s.isascii() and not unicodedata.is_normalized("NFKC", s):
        s = unicodedata.normalize("NFKC", s)
    s = _HSPACE.sub(" ", s)
    if "\n" in s:
        s = _LINE_EDGES.sub("\n", s)
        s = _BLANK_LINES.sub("\n\n", s)
    return s.strip()


def one_line(s: str, limit: int) -> str:
    """clean() for a subject or a name: a single line of at most `limit` characters."""
    s = clean(s)
    if "\n" in s:
        s = " ".join(s.split())
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
# A word holding at least one Greek/Cyrillic/Armenian letter. Possessive quantifiers keep the
# scan linear on long runs of word characters.
_FOREIGN_WORD = re.compile(rf"\b[^\W{_FOREIGN}]*+[{_FOREIGN}]\w*+")
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f]")


def _fold_letter(ch: str) -> str:
    folded = ch.translate(_CONFUSABLES)
    if folded != ch:
        return folded
    if "\u0370" <= ch <= "\u1fff":
        guess = unidecode(ch)
        if len(guess) == 1 and guess.isalpha():
            return guess
    return ch


def _all_confusable(word: str) -> bool:
    return all(ch.translate(_CONFUSABLES) != ch for ch in word)


def fold(s: str) -> str:
    """A skeleton for evasion-resistant matching: clean(), then letters of other scripts that
    pass for Latin are folded inside words that mix scripts ("Mіcrosoft" with a Cyrillic "і"),
    then lower case. Words wholly in one non-Latin script stay (real Russian or Greek text),
    except look-alike-only words inside Latin text ("Асег" among English words). Diacritics
    stay: "Grüße" and "é" are letters, not evasion."""
    s = clean(s)
    if s.isascii():
        return s.lower()
    matches = list(_FOREIGN_WORD.finditer(s))
    if not matches:
        return s.lower()
    # Mostly-Latin text: a word made only of look-alikes there is a disguise, not a language.
    latin_context = sum(m.end() - m.start() for m in matches) * 4 < len(s)
    out: list[str] = []
    last = 0
    for m in matches:
        word = m.group()
        if _LATIN_LETTER.search(word) or (latin_context and len(word) > 1 and _all_confusable(word)):
            out.append(s[last : m.start()])
            out.append("".join(_fold_letter(ch) for ch in word))
            last = m.end()
    out.append(s[last:])
    return "".join(out).lower()


# --- HTML to text ------------------------------------------------------------------------

# Sentinels placed in the HTML before parsing (block boundaries, hard breaks) or in the tree
# (quote and signature starts); any already in the input are removed first.
_BLOCK = "\x1e"
_BREAK = "\x1d"
_QUOTE = "\x1c"
_SIGN = "\x1f"
_RAW_SENTINELS = re.compile(r"[\x1c-\x1f]|&#(?:[xX]0*1[c-fC-F]|0*(?:2[89]|3[01]));?")
_BLOCK_TAG = re.compile(
    r"<(?=/?(?:address|article|aside|blockquote|center|dd|div|dl|dt|fieldset|figcaption|figure"
    r"|footer|form|h[1-6]|header|hr|li|main|nav|ol|p|pre|section|table|ul)[\s/>])",
    re.I,
)
_BREAK_TAG = re.compile(r"<(?=br[\s/>])", re.I)
# A character before <td> would be foster-parented out of the table, so the break goes inside.
_CELL_TAG = re.compile(r"<t[dh](?=[\s/>])[^>]*>", re.I)
_ANY_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)[^>]*?(/?)>")
# Tags that never nest: void, or closed implicitly by the next sibling of their kind.
_VOID_TAGS = frozenset(
    [
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
        "track", "wbr", "p", "li", "dt", "dd", "option", "tr", "td", "th",
    ]
)
_DROP_TAGS = ["script", "style", "title", "head", "template", "noscript", "xml", "object", "iframe"]
_HIDDEN = ", ".join(
    [
        f'[style*="{rule}" i]'
        for rule in (
            "display:none",
            "display: none",
            "display :none",
            "mso-hide:all",
            "mso-hide: all",
            "visibility:hidden",
            "visibility: hidden",
            "font-size:0;",
            "font-size: 0;",
            "font-size:0px",
            "font-size: 0px",
            "font-size:0pt",
            "opacity:0;",
            "opacity: 0;",
        )
    ]
    + ['[style$="font-size:0" i]', "[hidden]"]
)
_PREFORMATTED = "pre, textarea, xmp, listing, plaintext"
_QUOTE_MARKERS = ", ".join(
    [
        '[id$="divRplyFwdMsg"]',  # Outlook (Exchange prefixes "x_" when it quotes again)
        '[id$="appendonsend"]',
        '[id="mail-editor-reference-message-container"]',
        "div.gmail_quote",
        "blockquote",  # includes Apple's type=cite and Gmail's blockquote.gmail_quote
        ".moz-cite-prefix",  # Thunderbird's "On ... wrote:" line
        ".yahoo_quoted",
        "div.OutlookMessageHeader",
    ]
)
# Classic Outlook puts the quoted header in a div with a thin top border; it must hold "From:".
_OUTLOOK_BORDER = ", ".join(
    f'div[style*="border-top:{space}solid #{colour}" i]'
    for space in ("", " ")
    for colour in ("E1E1E1", "B5C4DF")
)
_SIGNATURE_MARKERS = ", ".join(
    [
        '[id="Signature" i]',
        '[id$="ms-outlook-mobile-signature"]',
        '[id="AppleMailSignature"]',
        ".gmail_signature_prefix",
        ".gmail_signature",
        ".moz-signature",
    ]
)
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")
_BREAK_THEN_BLOCKS = re.compile(r"\x1d[ \x1e]+")  # <br> at the end of a block: one line break
_BLOCK_RUN = re.compile(r" ?\x1e[ \x1e]*")


def _limit_depth(html: str) -> str:
    """Drop tags nested deeper than MAX_TAG_DEPTH (their text stays)."""
    depth = 0

    def tag(m: re.Match[str]) -> str:
        nonlocal depth
        if m.group(2).lower() in _VOID_TAGS or m.group(3):
            return m.group()
        if m.group(1):  # closing tag
            depth = max(depth - 1, 0)
            return m.group() if depth < MAX_TAG_DEPTH else ""
        depth += 1
        return m.group() if depth <= MAX_TAG_DEPTH else ""

    return _ANY_TAG.sub(tag, html)


def _render(html: str) -> tuple[LexborHTMLParser, bool]:
    """Parse bounded, sentinel-marked HTML with invisible parts removed."""
    truncated = len(html) > MAX_HTML_CHARS
    if truncated:
        html = html[:MAX_HTML_CHARS]
    html = _RAW_SENTINELS.sub("", html)
    if html.count("<") > _DEPTH_CHECK_TAGS:
        html = _limit_depth(html)
    html = _BLOCK_TAG.sub(_BLOCK + "<", html)
    html = _BREAK_TAG.sub(_BREAK + "<", html)
    html = _CELL_TAG.sub(lambda m: m.group() + _BLOCK, html)
    tree = LexborHTMLParser(html)
    tree.strip_tags(_DROP_TAGS, recursive=True)
    # remove(), not decompose(): a hidden node inside another hidden node must stay valid.
    for node in tree.css(_HIDDEN):
        node.remove()
    for node in tree.css(_PREFORMATTED):
        node.replace_with(node.text().replace("\n", _BREAK))
    return tree, truncated


def _tree_text(tree: LexborHTMLParser) -> str:
    body = tree.body if tree.body is not None else tree.root
    text = body.text() if body is not None else ""
    text = _HTML_SPACE.sub(" ", text)
    text = _BREAK_THEN_BLOCKS.sub(_BREAK, text)
    text = _BLOCK_RUN.sub("\n", text)
    return text.replace(_BREAK, "\n")


def html_to_text(html: str) -> str:
    """Visible text of an HTML body: no script, style, head, comments or hidden elements;
    block elements and <br> become line breaks; entities decoded; cleaned and bounded."""
    if not html:
        return ""
    tree, _ = _render(html)
    return clean(_tree_text(tree)[:MAX_TEXT_CHARS])


# --- links -------------------------------------------------------------------------------

_BARE_URL = re.compile(r"https?://[^\s<>\"'`]+", re.I)
_URL_TAIL = ".,;:!?)]}>'\"*"
_URL_JUNK = re.compile(r"[\s\x00-\x1f]+")
_SENTINEL_SPACES = str.maketrans({_BLOCK: " ", _BREAK: " ", _QUOTE: "", _SIGN: ""})


def _host(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.rstrip(".")


def make_link(url: str, text: str = "") -> tuple[str, str, str] | None:
    """(url, visible text, lower-case host) for a link, or None for an empty or in-page one.
    Outlook Safe Links are unwrapped so the host is the real destination."""
    url = _URL_JUNK.sub("", url or "")[:MAX_URL]
    if not url or url.startswith("#"):
        return None
    host = _host(url)
    if host.endswith(".safelinks.protection.outlook.com"):
        try:
            target = parse_qs(urlsplit(url).query).get("url", [""])[0]
        except ValueError:
            target = ""
        if target.lower().startswith(("http://", "https://")):
            url, host = target[:MAX_URL], _host(target)
    text = one_line(text.translate(_SENTINEL_SPACES), MAX_LINK_TEXT) if text else ""
    return url, text, host


def bare_urls(text: str) -> list[str]:
    """http(s) URLs written out in plain text, without trailing punctuation."""
    urls = []
    for m in _BARE_URL.finditer(text):
        url = m.group().rstrip(_URL_TAIL)
        if url.count("(") > url.count(")") and m.group()[len(url) : len(url) + 1] == ")":
            url += ")"
        urls.append(url)
        if len(urls) >= MAX_LINKS:
            break
    return urls


def _add_bare_links(links: list[tuple[str, str, str]], text: str) -> None:
    seen = {link[0] for link in links}
    for url in bare_urls(text):
        if len(links) >= MAX_LINKS:
            return
        link = make_link(url)
        if link and link[0] not in seen:
            seen.add(link[0])
            links.append(link)


# --- quoted history ----------------------------------------------------------------------

_FROM_LABEL = r"\*?(?:from|von|de|van|da)\*? ?:"
_HEADER_FROM = re.compile(rf"^{_FROM_LABEL}\*? ?(?=\S)", re.I | re.M)
_HEADER_OTHER = re.compile(
    r"\*?(?:sent|date|to|cc|subject|reply-to|gesendet|datum|an|betreff|envoyé|à|objet|enviado el"
    r"|enviado|enviada em|enviada|fecha|para|asunto|verzonden|aan|onderwerp|inviato|data|a|oggetto"
    r"|assunto)\*? ?:",
    re.I,
)
_HEADER_OTHER_INLINE = re.compile(rf"\s{_HEADER_OTHER.pattern}", re.I)
_SEPARATOR = re.compile(
    r"^(?:-{2,} ?(?:original message|ursprüngliche nachricht|message d['’]origine|mensaje original"
    r"|oorspronkelijk bericht|messaggio originale|mensagem original|forwarded message"
    r"|weitergeleitete nachricht|message transféré|mensaje reenviado|doorgestuurd bericht"
    r"|messaggio inoltrato|mensagem encaminhada|mensagem reencaminhada) ?-{2,}"
    r"|(?:begin forwarded message|anfang der weitergeleiteten nachricht|début du message réexpédié"
    r"|inicio del mensaje reenviado|begin doorgestuurd bericht|inizio messaggio inoltrato"
    r"|início da mensagem reencaminhada) ?:"
    r"|(?P<rule>_{10,}) *$)",
    re.I | re.M,
)
_WROTE_END = re.compile(
    r"(?:\b(?:wrote|escribió|escribio|escreveu)|(?<!\w)a écrit|\bha scritto) ?: *$"
    r"|\b(?:schrieb|schreef)\b[^\n]{0,200}: *$",
    re.I | re.M,
)
_ATTRIBUTION = re.compile(
    r"(?:on|am|le|el|op|il|em)\s(?=[^\n]*\d)[^\n]{3,400}?"
    r"(?:(?:\bwrote|\bescribió|\bescribio|\bescreveu|(?<!\w)a écrit|\bha scritto) ?:"
    r"|\b(?:schrieb|schreef)\b[^\n]{0,200}:) *$",
    re.I,
)
_QUOTED_LINE = re.compile(r"^>(?:[ >]|$)", re.M)
_EMAIL = re.compile(r"[\w.+%'=-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")


def _line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def _next_lines(text: str, start: int, count: int) -> list[str]:
    return text[start:].split("\n", count)[:count]


def _is_header_block(text: str, start: int) -> bool:
    """A "From:" line followed closely by at least two other header lines (Sent/To/Subject...)."""
    lines = _next_lines(text, start, 8)
    if len(_HEADER_OTHER_INLINE.findall(lines[0])) >= 2:
        return True
    return sum(1 for line in lines[1:] if _HEADER_OTHER.match(line)) >= 2


def _attribution_start(text: str, pos: int) -> int:
    """Where the "On <date>, <name> wrote:" lines ending at `pos` begin, or -1. Clients wrap
    the line, so up to two lines before are joined in."""
    end = text.find("\n", pos)
    end = len(text) if end < 0 else end
    start = _line_start(text, pos)
    for _ in range(3):
        if _ATTRIBUTION.match(" ".join(text[start:end].split("\n"))):
            return start
        if start == 0:
            break
        start = _line_start(text, start - 1)
    line_start = _line_start(text, pos)
    if "@" in text[line_start:end]:  # "Jane Doe <jane@example.com> wrote:"
        return line_start
    if line_start and "@" in text[_line_start(text, line_start - 1) : line_start]:
        return _line_start(text, line_start - 1)
    return -1


def _quote_start(text: str) -> int:
    """Offset where the quoted or forwarded history begins, or -1."""
    candidates: list[tuple[int, str]] = []
    for m in _SEPARATOR.finditer(text):
        candidates.append((m.start(), "rule" if m.group("rule") else "sep"))
    for m in _HEADER_FROM.finditer(text):
        candidates.append((m.start(), "from"))
    for m in _WROTE_END.finditer(text):
        candidates.append((m.start(), "wrote"))
    candidates.sort()
    for pos, kind in candidates:
        if kind == "sep":
            return pos
        if kind == "from" and _is_header_block(text, pos):
            return pos
        if kind == "rule":
            following = _next_lines(text, pos, 3)[1:]
            if any(_HEADER_FROM.match(line) for line in following):
                return pos
        if kind == "wrote":
            start = _attribution_start(text, pos)
            if start >= 0:
                return start
    return -1


def split_quote(text: str) -> tuple[str, str]:
    """(newest part, quoted history) of cleaned text. The history starts at an attribution
    line ("On ... wrote:", "Am ... schrieb ...:", "Le ... a écrit :" ...), an "Original
    Message" or "Forwarded message" separator, or an Outlook header block ("From: / Sent: /
    To: / Subject:" and its translations). Lines starting with ">" are quoted too."""
    start = _quote_start(text)
    new, quoted = (text[:start], text[start:]) if start >= 0 else (text, "")
    if _QUOTED_LINE.search(new):
        kept: list[str] = []
        moved: list[str] = []
        for line in new.split("\n"):
            (moved if _QUOTED_LINE.match(line) else kept).append(line)
        new = "\n".join(kept)
        quoted = "\n".join(moved + ([quoted] if quoted else []))
    return new.strip(), quoted.strip()


_SENDER_LINE = re.compile(
    rf"^[> ]*{_FROM_LABEL}\*? ?(?P<header>[^\n]*)"
    r"|(?P<wrote>(?:\b(?:wrote|escribió|escribio|escreveu)|(?<!\w)a écrit|\bha scritto) ?: *$"
    r"|\b(?:schrieb|schreef)\b[^\n]{0,200}: *$)",
    re.I | re.M,
)


def quoted_senders(quoted: str) -> list[str]:
    """Addresses named as senders in quoted history ("From: ... <a@b>", "On ..., X <a@b>
    wrote:"), in order of appearance: the oldest message's sender comes last."""
    senders: list[str] = []
    for m in _SENDER_LINE.finditer(quoted):
        if m.group("header") is not None:
            found = _EMAIL.search(m.group("header")[:500])
        else:
            start = _line_start(quoted, m.start())
            window = quoted[start : m.end()]
            if "@" not in window and start:  # the address wrapped onto the line before
                window = quoted[_line_start(quoted, start - 1) : m.end()]
            found = _EMAIL.search(window[-600:])
        if found:
            senders.append(found.group().lower().strip("."))
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
_SIGN_OFF = re.compile(rf"(?i:{_SIGN_OFFS})(?: ?[,.!…]+)?(?: ?[,–—-]? ?{_NAME})? ?[,.!]*")
_DEVICE = re.compile(
    r"(?:sent from (?:my|outlook|mail|yahoo|samsung)\b|sent via \S|sent with \S|get outlook for "
    r"|von meinem \S.{0,40} gesendet|gesendet von (?:meinem|outlook|mail)|envoyé de mon |envoyé depuis "
    r"|obtenir outlook pour|enviado desde mi |enviado desde |obtener outlook para |verzonden (?:vanaf|met) "
    r"|inviato da |enviado do meu |enviado a partir do |enviado de meu |obtenha o outlook)",
    re.I,
)
_NAME_NOISE = re.compile(r"\(.*?\)|\[.*?\]|<.*?>|\".*?\"|\|.*")


def _name_keys(sender_name: str) -> tuple[str, set[str]]:
    """(full name, accepted lines) for recognising a signature that starts with the sender's
    name: "Rohan Kapoor (Contoso)" -> "rohan kapoor", also a line of just "rohan"."""
    name = " ".join(_NAME_NOISE.sub(" ", sender_name).split()).lower()
    if "@" in name:
        return "", set()
    if name.count(",") == 1:  # "Kapoor, Rohan"
        last, first = (part.strip() for part in name.split(","))
        name = f"{first} {last}".strip()
    words = name.split()
    if not words or len(name) < 3:
        return "", set()
    keys = {name}
    if len(words) >= 2 and len(words[0]) >= 2:
        keys.add(words[0])
    return name, keys


def _is_name_line(line: str, full: str, keys: set[str]) -> bool:
    bare = line.lstrip("-–—~ ").rstrip(" ,.!").lower()
    if bare in keys:
        return True
    return bool(full) and bare.startswith(full) and bare[len(full) : len(full) + 1] in (" ", ",", "|", "-")


def split_signature(text: str, sender_name: str = "") -> tuple[str, str]:
    """(body, signature) of the newest part. The signature is the block after a "-- " line
    or after a sign-off ("Best regards,", "Mit freundlichen Grüßen", "Cordialement"...) in
    the last SIGNATURE_WINDOW lines, from a line naming the sender, or from a "Sent from my
    iPhone" line. The sign-off itself stays in the body."""
    lines = text.split("\n")
    filled = [i for i, line in enumerate(lines) if line.strip()]
    if len(filled) < 2:
        return text, ""
    window = filled[-SIGNATURE_WINDOW:]
    if window[0] == filled[0]:  # the greeting is never the signature
        window = window[1:]
    full, keys = _name_keys(sender_name)
    cut = len(lines)
    skip = -1
    for i in reversed(window):
        line = lines[i]
        if line in ("--", "-- ", "—"):
            cut, skip = i, i
            continue
        if _DEVICE.match(line) or (keys and _is_name_line(line, full, keys)):
            cut = i
        elif _SIGN_OFF.fullmatch(line):
            following = next((lines[j] for j in filled if j > i), "")
            if following and len(following) <= 60 and not following.endswith("?"):
                cut = min(cut, i + 1)
    if cut >= len(lines):
        return text, ""
    body = "\n".join(lines[:cut]).strip()
    signature = "\n".join(line for j, line in enumerate(lines[cut:], cut) if j != skip).strip()
    return body, signature


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
    return rest.strip() if first.strip() in ("--", "-- ") else signature


def _finish(parts: BodyParts, head: str, sender_name: str, signature: str = "") -> BodyParts:
    """Split `head` (cleaned text before any quote marker) and fill the parts."""
    new, quoted = split_quote(head)
    if quoted:  # the signature marker sat inside text that is itself quoted history
        parts.quoted = "\n".join(x for x in (quoted, signature, parts.quoted) if x)
        signature = ""
    if signature:
        parts.new, parts.signature = new, _strip_delimiter(signature)
    else:
        parts.new, parts.signature = split_signature(new, sender_name)
    parts.quoted_senders = quoted_senders(parts.quoted) if parts.quoted else []
    return parts


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
    tree, parts.truncated = _render(html)
    for a in tree.css("a[href]"):
        link = make_link(a.attributes.get("href") or "", a.text())
        if link:
            parts.links.append(link)
            if len(parts.links) >= MAX_LINKS:
                break
    for node in tree.css(_QUOTE_MARKERS):
        node.insert_before(_QUOTE)
    for node in tree.css(_OUTLOOK_BORDER):
        if _HEADER_FROM.search(node.text()[:1000].replace(_BREAK, "\n").replace(_BLOCK, "\n")):
            node.insert_before(_QUOTE)
    for node in tree.css(_SIGNATURE_MARKERS):
        node.insert_before(_SIGN)
    text = _tree_text(tree)
    if len(text) > MAX_TEXT_CHARS:
        text, parts.truncated = text[:MAX_TEXT_CHARS], True
    head, _, quoted = text.partition(_QUOTE)
    head, _, signature = head.partition(_SIGN)
    head, signature = clean(head), clean(signature.replace(_SIGN, ""))
    parts.quoted = clean(quoted.replace(_QUOTE, "").replace(_SIGN, "")) if quoted else ""
    parts.text = "\n".join(x for x in (head, signature, parts.quoted) if x)
    _finish(parts, head, sender_name, signature)
    _add_bare_links(parts.links, parts.text)
    return parts


_LOOKS_HTML = re.compile(r"<(?:html|body|div|p|br|table|span|a|b|font|meta|head)\b", re.I)


def parse_body(content: str, content_type: str = "", sender_name: str = "") -> BodyParts:
    """parse_html() or parse_text() by content type ("html"/"text"); sniffed when unknown."""
    kind = (content_type or "").lower()
    if "html" in kind or (not kind and _LOOKS_HTML.search(content[:2000])):
        return parse_html(content, sender_name)
    return parse_text(content, sender_name)
