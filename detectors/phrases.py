"""Multilingual phrase lists (detectors/phrases.toml) matched on words, fast.

Text is split into lower-case word tokens once, and one index maps each phrase's first word
to the phrases (of every category) starting with it, so scanning a message is one dict
probe per token instead of one regex pass per phrase: thousands of messages a second.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

_TOKEN = re.compile(r"[\w'’]+|%|#")
MAX_TOKENS = 3000  # the first screens of text carry the pitch; cap the work, not the headers


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower().replace("’", "'"))


@dataclass(frozen=True, slots=True)
class _Phrase:
    category: str
    words: tuple[str, ...]
    prefix: bool  # the last word is a prefix ("assess*")
    text: str


class PhraseIndex:
    def __init__(self, lists: dict[str, list[str]]) -> None:
        self.categories = tuple(lists)
        self._by_first: dict[str, list[_Phrase]] = {}
        # Single-word prefixes ("assess*") indexed by their first three letters.
        self._prefix_by_stem: dict[str, list[_Phrase]] = {}
        for category, phrases in lists.items():
            for raw in phrases:
                prefix = raw.endswith("*")
                words = tuple(tokenize(raw.rstrip("*")))
                if not words:
                    continue
                phrase = _Phrase(category, words, prefix, raw.rstrip("*"))
                if prefix and len(words) == 1 and len(words[0]) >= 3:
                    self._prefix_by_stem.setdefault(words[0][:3], []).append(phrase)
                else:
                    self._by_first.setdefault(words[0], []).append(phrase)
        for bucket in self._by_first.values():
            bucket.sort(key=lambda p: -len(p.words))

    def scan(self, tokens: list[str]) -> dict[str, list[str]]:
        """Category -> distinct phrases found, in order of appearance."""
        found: dict[str, list[str]] = {c: [] for c in self.categories}
        by_first = self._by_first
        by_stem = self._prefix_by_stem
        n = min(len(tokens), MAX_TOKENS)
        for i in range(n):
            token = tokens[i]
            bucket = by_first.get(token)
            if bucket is not None:
                for phrase in bucket:
                    k = len(phrase.words)
                    if k == 1:
                        ok = True
                    elif i + k > n:
                        continue
                    elif phrase.prefix:
                        ok = (
                            tuple(tokens[i + 1 : i + k - 1]) == phrase.words[1:-1]
                            and tokens[i + k - 1].startswith(phrase.words[-1])
                        )
                    else:
                        ok = tuple(tokens[i + 1 : i + k]) == phrase.words[1:]
                    if ok:
                        hits = found[phrase.category]
                        if phrase.text not in hits:
                            hits.append(phrase.text)
            stem_bucket = by_stem.get(token[:3])
            if stem_bucket is not None:
                for phrase in stem_bucket:
                    if token.startswith(phrase.words[0]):
                        hits = found[phrase.category]
                        if phrase.text not in hits:
                            hits.append(phrase.text)
        return found


@lru_cache(maxsize=1)
def phrase_index() -> PhraseIndex:
    data = tomllib.loads(resources.files("detectors").joinpath("phrases.toml").read_text(encoding="utf-8"))
    return PhraseIndex({name: [p for lang in langs.values() for p in lang] for name, langs in data.items()})
