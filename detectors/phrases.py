"""Multilingual phrase lists (detectors/phrases.toml) matched on words, fast.

Text is split into lower-case word tokens once; phrases are then found with set operations on
the text's words and word pairs instead of one regex pass per phrase: thousands of messages a
second.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from detectors.text import IDEOGRAPHIC, SCRIPTS

_TOKEN = re.compile(r"[\w']+|%|#")
# In Chinese, Japanese and Korean text, Latin words are written right next to the script's own
# ("生成AI活用", "AI를"): they are words of their own.
_IDEOGRAPHIC = re.compile(f"[{IDEOGRAPHIC}]")
_TOKEN_BESIDE_IDEOGRAPHIC = re.compile(f"(?:[^\\W{IDEOGRAPHIC}]|')+|[{IDEOGRAPHIC}]+|%|#")
# Phrases in those scripts are found as substrings of the text (detectors/text.py, SCRIPTS).
_SCRIPT = {name: re.compile(f"[{chars}]") for name, chars in SCRIPTS.items()}
UNSPACED = re.compile(f"[{''.join(SCRIPTS.values())}]")
MAX_TOKENS = 3000  # the first screens of text carry the pitch; cap the work, not the headers
MAX_UNSPACED_CHARS = 20_000  # the same cap for text searched as substrings


def tokenize(text: str) -> list[str]:
    lowered = text.lower()
    if "\u0307" in lowered:  # Turkish "İ" lower-cases to "i" plus a combining dot
        lowered = lowered.replace("i\u0307", "i")
    lowered = lowered.replace("’", "'")
    if not lowered.isascii() and _IDEOGRAPHIC.search(lowered):
        return _TOKEN_BESIDE_IDEOGRAPHIC.findall(lowered)
    return _TOKEN.findall(lowered)


Hit = tuple[str, str]  # (category, phrase as written in phrases.toml)
_TOKEN_CACHE_SIZE = 200_000  # words remembered; then the cache starts again
_CACHED_WORD_LEN = 64  # longer "words" (hostile runs of letters) are looked up, never remembered
_SEP = "\x00"  # joins the words of a text, so "free trial" is the substring "\0free\0trial\0"


@dataclass(frozen=True, slots=True)
class _Phrase:
    """A phrase of several words, as the substring it makes in the joined words of a text."""

    hit: Hit
    needle: str


def _needle(words: tuple[str, ...], prefix: bool) -> str:
    # A prefix phrase ("free tri*") leaves its last word open.
    return _SEP + _SEP.join(words) + ("" if prefix else _SEP)


class PhraseIndex:
    """Three kinds of lookup, each mostly a set operation or a substring search in C:
    - one-word patterns (a word, a prefix "kostenlos*", an ending "*system"): what each distinct
      word of the text matches is worked out once and remembered, since mail reuses words;
    - phrases of several words: only those whose first words (a pair, or the word before an open
      last word) occur in the text are searched for, as substrings of the text's joined words;
      a phrase with an open word before its last ("sztuczn* inteligencj*", for inflected
      languages) is a regular expression over the joined words, tried when its first stem occurs;
    - phrases in scripts without usable word boundaries (detectors/text.py, SCRIPTS): as substrings.
    """

    def __init__(self, lists: dict[str, list[str]]) -> None:
        self.categories = tuple(lists)
        self._single: dict[str, list[Hit]] = {}  # exact one-word phrases
        self._stems: dict[str, list[tuple[str, Hit]]] = {}  # first 3 letters -> (prefix, hit)
        # Word endings ("*system" finds "lønnssystem", "kassensystem"): compounds in Germanic
        # and Nordic languages put the telling word last.
        self._endings: list[tuple[str, Hit]] = []
        self._by_pair: dict[tuple[str, str], list[_Phrase]] = {}  # first two words -> phrases
        self._by_first: dict[str, list[_Phrase]] = {}  # "free tri*": first word -> phrases
        self._open_inside: list[tuple[str, re.Pattern[str], str]] = []  # (first stem, pattern, category)
        self._unspaced: dict[str, list[Hit]] = {name: [] for name in SCRIPTS}
        for category, phrases in lists.items():
            for raw in phrases:
                # The same form as cleaned mail text: NFKC splits Thai "ำ", for one.
                raw = unicodedata.normalize("NFKC", raw)
                _check_stars(raw)
                script = next((name for name, pattern in _SCRIPT.items() if pattern.search(raw)), None)
                if script:
                    self._unspaced[script].append((category, raw.lower()))
                    continue
                if raw.startswith("*"):
                    self._endings.append((raw[1:].lower(), (category, raw[1:].lower())))
                    continue
                prefix = raw.endswith("*")
                text = raw.rstrip("*")
                if "*" in text:
                    self._open_inside.append(_open_inside(category, raw))
                    continue
                words = tuple(tokenize(text))
                if not words:
                    continue
                if len(words) == 1 and prefix:
                    self._stems.setdefault(words[0][:3], []).append((words[0], (category, text)))
                elif len(words) == 1:
                    self._single.setdefault(words[0], []).append((category, text))
                elif len(words) == 2 and prefix:
                    self._by_first.setdefault(words[0], []).append(
                        _Phrase((category, text), _needle(words, prefix))
                    )
                else:
                    pair = (words[0], words[1])
                    self._by_pair.setdefault(pair, []).append(
                        _Phrase((category, text), _needle(words, prefix))
                    )
        self._pairs = frozenset(self._by_pair)
        self._firsts = frozenset(self._by_first)
        self._ending_tuple = tuple(ending for ending, _ in self._endings)
        # What each word matches (one-word patterns), and the words that match anything.
        self._cache: tuple[dict[str, tuple[Hit, ...]], set[str]] = ({}, set())

    def _hits_of(self, word: str) -> tuple[Hit, ...]:
        hits = list(self._single.get(word, ()))
        for stem, hit in self._stems.get(word[:3], ()):
            if word.startswith(stem):
                hits.append(hit)
        if len(word) > 6 and word.endswith(self._ending_tuple):
            hits.extend(hit for ending, hit in self._endings if word.endswith(ending))
        return tuple(hits)

    def _one_word_hits(self, words: set[str]) -> list[tuple[str, tuple[Hit, ...]]]:
        """(word, what it matches) for the words that match a one-word pattern."""
        found = []
        if words and max(map(len, words)) > _CACHED_WORD_LEN:
            long_words = {word for word in words if len(word) > _CACHED_WORD_LEN}
            words = words - long_words
            found = [(word, hits) for word in long_words if (hits := self._hits_of(word))]
        # Worker threads share the cache. It is replaced whole when full (a scan holding the old
        # one finishes with it), and a word joins the set of words with hits before it joins the
        # dictionary, so a word the dictionary knows is never missing from the set.
        word_hits, hit_words = self._cache
        new = words.difference(word_hits)
        if new:
            if len(word_hits) > _TOKEN_CACHE_SIZE:
                word_hits, hit_words = self._cache = ({}, set())
                new = words  # this text's known words must be in the new cache too
            for word in new:
                hits = self._hits_of(word)
                if hits:
                    hit_words.add(word)
                word_hits[word] = hits
        for word in words & hit_words:
            hits = word_hits.get(word)
            found.append((word, self._hits_of(word) if hits is None else hits))
        return found

    def scan(self, tokens: list[str], text: str = "") -> dict[str, list[str]]:
        """Category -> distinct phrases found in ``tokens`` (and, for phrases in unspaced
        scripts, in the first MAX_UNSPACED_CHARS of ``text``). Phrases in unspaced scripts come
        first, then the others in order of first appearance."""
        found: dict[str, list[str]] = {c: [] for c in self.categories}
        if text and UNSPACED.search(text, 0, MAX_UNSPACED_CHARS):
            lowered = text[:MAX_UNSPACED_CHARS].lower()
            for script, phrases in self._unspaced.items():
                if phrases and _SCRIPT[script].search(lowered):
                    for category, phrase in phrases:
                        if phrase in lowered and phrase not in found[category]:
                            found[category].append(phrase)
        tokens = tokens[:MAX_TOKENS]
        distinct = set(tokens)
        joined = _SEP + _SEP.join(tokens) + _SEP
        located: list[tuple[int, Hit]] = []  # (offset in `joined`, hit)
        for word, hits in self._one_word_hits(distinct):
            at = joined.find(_SEP + word + _SEP)
            located.extend((at, hit) for hit in hits)
        candidates = [p for word in distinct & self._firsts for p in self._by_first[word]]
        candidates.extend(
            p
            for pair in self._pairs.intersection(zip(tokens, tokens[1:], strict=False))
            for p in self._by_pair[pair]
        )
        for phrase in candidates:
            at = joined.find(phrase.needle)
            if at >= 0:
                located.append((at, phrase.hit))
        for stem, pattern, category in self._open_inside:
            if stem in joined:
                found_at = pattern.search(joined)
                if found_at:
                    # Reported as the text says it ("zewnętrzna firma informatyczna"), so that the
                    # hit can be looked up in the text like any other.
                    located.append(
                        (found_at.start(), (category, found_at.group().strip(_SEP).replace(_SEP, " ")))
                    )
        located.sort(key=_offset)
        for _, (category, phrase_text) in located:
            hits = found[category]
            if phrase_text not in hits:
                hits.append(phrase_text)
        return found


def _check_stars(raw: str) -> None:
    """'*' opens the end of a word ("kostenlos*", "kopi* zapasow*") or, alone in front, the start
    of a single word ("*system"); anything else could never match, so it is refused."""
    words = raw.split()
    if raw.startswith("*"):
        ok = len(words) == 1 and "*" not in raw[1:]
    else:
        ok = all("*" not in word.rstrip("*") and not word.endswith("**") for word in words)
    if not ok:
        raise ValueError(f"phrases.toml: {raw!r}: '*' may only end a word, or begin a one-word phrase")


def _open_inside(category: str, raw: str) -> tuple[str, re.Pattern[str], str]:
    """A phrase with open words before its last ("kopi* zapasow*"), as a pattern over the text's
    joined words: each word of the phrase is that word of the text, an open one any word it begins."""
    parts = []
    for word in raw.split():
        tokens = tokenize(word.rstrip("*"))
        if not tokens:
            raise ValueError(f"phrases.toml: {raw!r}: {word!r} has no letters")
        parts.append(_SEP.join(map(re.escape, tokens)) + (f"[^{_SEP}]*" if word.endswith("*") else ""))
    pattern = re.compile(_SEP + _SEP.join(parts) + ("" if raw.endswith("*") else _SEP))
    return _SEP + tokenize(raw)[0], pattern, category


def _offset(item: tuple[int, Hit]) -> int:
    return item[0]


@lru_cache(maxsize=1)
def phrase_index() -> PhraseIndex:
    data = tomllib.loads(resources.files("detectors").joinpath("phrases.toml").read_text(encoding="utf-8"))
    return PhraseIndex({name: [p for lang in langs.values() for p in lang] for name, langs in data.items()})
