"""Pure text helpers: cleaning against evasion tricks and folding look-alike letters.

clean() is applied to everything taken from a message; fold() gives the skeleton used to
compare names ("Mіcrosoft" with a Cyrillic і folds to "microsoft"). Both are bounded and fast:
the classifier must do thousands of messages a second.
"""

from __future__ import annotations

import re
import unicodedata

from unidecode import unidecode

# --- scripts -----------------------------------------------------------------------------

# Character ranges of scripts that word-based matching cannot handle as it handles Latin:
# Chinese, Japanese and Thai are written without spaces, Korean, Arabic and Hebrew attach
# particles and prefixes to words, and the vowel signs of Devanagari and Thai are not word
# characters to `re`. For use inside a regex character class.
SCRIPTS = {
    "hebrew": "\u0590-\u05ff",
    "arabic": "\u0600-\u06ff",
    "devanagari": "\u0900-\u097f",
    "thai": "\u0e00-\u0e7f",
    "cjk": "\u3040-\u30ff\u3400-\u9fff",
    "hangul": "\uac00-\ud7af",
}
IDEOGRAPHIC = SCRIPTS["cjk"] + SCRIPTS["hangul"]  # names and words of a few characters each
MARKED = SCRIPTS["hebrew"] + SCRIPTS["arabic"] + SCRIPTS["devanagari"] + SCRIPTS["thai"]

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
