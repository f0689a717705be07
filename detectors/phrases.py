"""Multilingual phrase lists (detectors/phrases.toml) matched on words, fast.

Text is split into lower-case word tokens once. Each phrase is indexed under its longest
(rarest) word, so scanning a message is one set probe per word and a few comparisons per
candidate, instead of one regex pass per phrase: thousands of messages a second.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

_TOKEN = re.compile(r"[\w']+|%|#")
# Chinese/Japanese/Korean are written without spaces: their phrases are found as substrings.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
# Words too common to index a phrase under: "at no cost" is found through "cost", not "at".
_COMMON = frozenset(
    ["a", "an", "the", "to", "of", "on", "in", "at", "for", "by", "with", "and", "or", "is", "are", "be", "i", "i'm", "we", "we're", "you", "your", "our", "my", "it", "this", "that", "de", "la", "le", "les", "des", "du", "un", "une", "et", "en", "el", "los", "las", "del", "y", "su", "de", "het", "een", "van", "op", "te", "der", "die", "das", "und", "ein", "eine", "il", "di", "da", "do", "dos", "das", "o", "os", "e", "per", "con"]
)
MAX_TOKENS = 3000  # the first screens of text carry the pitch; cap the work, not the headers


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower().replace("’", "'"))


@dataclass(frozen=True, slots=True)
class _Phrase:
    category: str
    words: tuple[str, ...]
    prefix: bool  # the last word is a prefix ("assess*")
    text: str
    key: int  # position of the indexed word within `words`

    def matches(self, tokens: list[str], start: int, n: int) -> bool:
        end = start + len(self.words)
        if start < 0 or end > n:
            return False
        if self.prefix:
            return tuple(tokens[start : end - 1]) == self.words[:-1] and tokens[end - 1].startswith(self.words[-1])
        return tuple(tokens[start:end]) == self.words


class PhraseIndex:
    def __init__(self, lists: dict[str, list[str]]) -> None:
        self.categories = tuple(lists)
        self._by_word: dict[str, list[_Phrase]] = {}
        # Phrases whose only usable key is a prefix ("kostenlos*"), indexed by its first 3 letters.
        self._by_stem: dict[str, list[_Phrase]] = {}
        self._cjk: list[tuple[str, str]] = []  # (category, phrase)
        # Word endings ("*system" finds "lønnssystem", "kassensystem"): compounds in Germanic
        # and Nordic languages put the telling word last.
        self._suffixes: list[tuple[str, str]] = []  # (category, ending)
        for category, phrases in lists.items():
            for raw in phrases:
                if _CJK.search(raw):
                    self._cjk.append((category, raw.lower()))
                    continue
                if raw.startswith("*"):
                    self._suffixes.append((category, raw[1:].lower()))
                    continue
                prefix = raw.endswith("*")
                words = tuple(tokenize(raw.rstrip("*")))
                if not words:
                    continue
                exact = range(len(words) - 1) if prefix else range(len(words))
                if len(exact):
                    key = max(exact, key=lambda k: (words[k] not in _COMMON, len(words[k])))
                    phrase = _Phrase(category, words, prefix, raw.rstrip("*"), key)
                    self._by_word.setdefault(words[key], []).append(phrase)
                else:
                    phrase = _Phrase(category, words, prefix, raw.rstrip("*"), 0)
                    self._by_stem.setdefault(words[0][:3], []).append(phrase)
        self._words = frozenset(self._by_word)
        self._endings = tuple(ending for _, ending in self._suffixes)

    def scan(self, tokens: list[str], text: str = "") -> dict[str, list[str]]:
        """Category -> distinct phrases found in ``tokens`` (and, for CJK phrases, in ``text``),
        in order of appearance."""
        found: dict[str, list[str]] = {c: [] for c in self.categories}
        if text and _CJK.search(text):
            lowered = text.lower()
            for category, phrase in self._cjk:
                if phrase in lowered and phrase not in found[category]:
                    found[category].append(phrase)
        n = min(len(tokens), MAX_TOKENS)
        distinct = set(tokens[:n])
        if self._endings:
            for token in sorted(t for t in distinct if len(t) > 6 and t.endswith(self._endings)):
                for category, ending in self._suffixes:
                    if token.endswith(ending) and ending not in found[category]:
                        found[category].append(ending)
        by_stem = self._by_stem
        keyed = distinct & self._words
        stemmed = {t for t in distinct if t[:3] in by_stem}
        if not keyed and not stemmed:
            return found
        by_word = self._by_word
        for i in range(n):
            token = tokens[i]
            if token in keyed:
                for phrase in by_word[token]:
                    if len(phrase.words) == 1 or phrase.matches(tokens, i - phrase.key, n):
                        hits = found[phrase.category]
                        if phrase.text not in hits:
                            hits.append(phrase.text)
            if token in stemmed:
                for phrase in by_stem[token[:3]]:
                    if token.startswith(phrase.words[0]):
                        hits = found[phrase.category]
                        if phrase.text not in hits:
                            hits.append(phrase.text)
        return found


@lru_cache(maxsize=1)
def phrase_index() -> PhraseIndex:
    data = tomllib.loads(resources.files("detectors").joinpath("phrases.toml").read_text(encoding="utf-8"))
    return PhraseIndex({name: [p for lang in langs.values() for p in lang] for name, langs in data.items()})
