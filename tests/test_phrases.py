from __future__ import annotations

import pytest

from detectors.phrases import PhraseIndex, phrase_index, tokenize


def found(text: str) -> dict[str, list[str]]:
    return {k: v for k, v in phrase_index().scan(tokenize(text)).items() if v}


def test_multi_word_and_prefix_phrases_are_found_in_order() -> None:
    hits = found("Just circling back: we offer a complimentary assessment and free workshops.")
    assert hits["followup"] == ["circling back"]
    assert hits["offer"][:3] == ["complimentary", "assessment", "free"]
    assert "workshop" in hits["offer"]  # "workshop*" matches "workshops"


def test_phrases_in_other_languages() -> None:
    assert "kostenlos" in found("einen kostenlosen Sicherheits-Workshop")["offer"]
    assert "directement" in found("acheter directement chez nous")["bypass"]
    assert "sin ningún costo" in found("Me gustaría ofrecerle, sin ningún costo:")["offer"]
    assert found("Ho pensato di scriverLe direttamente")["bypass"] == ["direttamente"]


def test_words_do_not_match_inside_other_words() -> None:
    assert "offer" not in found("Take the freeway past the tribunal")  # "free" is a whole word
    assert "lure" not in found("We installed wireless shelving.")  # "wire" is a whole word


def test_scripts_without_word_boundaries_are_matched_inside_words() -> None:
    # Thai has no spaces; Arabic attaches "for free" to its preposition; Devanagari vowel signs split tokens.
    for text in ("ทดลองใช้ฟรีสามสิบวัน", "نقدم لكم تجربة مجانية", "मुफ़्त डेमो"):
        assert phrase_index().scan(tokenize(text), text)["offer"], text


def test_turkish_capital_i_lower_cases_to_a_plain_i() -> None:
    assert tokenize("İNDİRİM") == ["indirim"]


def test_hostile_long_words_are_matched_but_not_remembered() -> None:
    index = phrase_index()
    word = "x" * 5000 + "system"  # a compound ending still counts
    text = f"free {word} trial"
    assert "system" in index.scan(tokenize(text), text)["tech"]
    assert word not in index._cache[0]


def test_phrases_match_text_as_the_cleaner_leaves_it() -> None:
    from detectors.text import clean

    text = clean("กรุณาชำระเงินภายในวันนี้")  # NFKC splits the Thai vowel "ำ" in two
    assert phrase_index().scan(tokenize(text), text)["transactional"]


def test_threads_sharing_the_word_cache_get_the_same_answers(monkeypatch) -> None:
    import threading

    from detectors import phrases
    from detectors.phrases import PhraseIndex

    lists = {"offer": ["free", "trial*", "free trial"], "tech": ["cloud", "*system"]}
    texts = [f"free trial {i} of our cloud kassensystem, word{i} other{i}" for i in range(40)]
    expected = [PhraseIndex(lists).scan(tokenize(text)) for text in texts]
    monkeypatch.setattr(phrases, "_TOKEN_CACHE_SIZE", 5)  # replaced again and again while others read
    index = PhraseIndex(lists)
    wrong: list[tuple[str, object]] = []

    def work() -> None:
        for _ in range(50):
            for text, want in zip(texts, expected, strict=True):
                got = index.scan(tokenize(text))
                if got != want:
                    wrong.append((text, got))

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not wrong, wrong[:3]


def test_latin_words_written_against_chinese_japanese_or_korean_are_words() -> None:
    assert tokenize("生成AI活用セミナー")[1:3] == ["ai", "活用セミナー"]
    assert tokenize("AI를 도입")[:2] == ["ai", "를"]


def test_catalan_i_am_is_not_a_security_operations_centre() -> None:
    assert "it_provider" not in found("Hola Jordi, soc la Laia de Sarment.")
    assert found("Our 24/7 SOC watches your network")["it_provider"] == ["24/7 soc"]


def test_open_words_inside_a_phrase_match_any_ending() -> None:
    # Polish inflects every word: "kopi* zapasow*" is "kopie zapasowe" and "kopii zapasowych".
    assert "kopi zapasow" in found("Robimy kopie zapasowe co noc.")["tech"]
    assert "kopi zapasow" in found("bez kopii zapasowych")["tech"]
    assert "sztuczn inteligencj" in found("Sztuczna inteligencja w biurze")["tech"]
    # Each open word is still one whole word of the text, in order.
    assert "tech" not in found("kopie, a potem zapasowe")


def test_a_star_in_the_middle_of_a_word_is_refused_with_the_phrase_named() -> None:
    with pytest.raises(ValueError, match="ko\\*pi"):
        PhraseIndex({"tech": ["ko*pi zapasow*"]})
