from __future__ import annotations

import re

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
    # Polish inflects every word: "kopi* zapasow*" is "kopie zapasowe" and "kopii zapasowych". The
    # hit is reported as the text says it.
    assert "kopie zapasowe" in found("Robimy kopie zapasowe co noc.")["tech"]
    assert "kopii zapasowych" in found("bez kopii zapasowych")["tech"]
    assert "sztuczna inteligencja" in found("Sztuczna inteligencja w biurze")["tech"]
    assert "usługi informatyczne" in found("Świadczymy usługi informatyczne dla biur.")["it_provider"]
    assert "wersja próbna" in found("Darmowa wersja próbna na 30 dni.")["offer"]
    # Each open word is still one whole word of the text, in order; a closed last word is closed.
    assert "tech" not in found("kopie, a potem zapasowe")
    index = PhraseIndex({"tech": ["kopi* zapasowe", "ki-gestützt* lösung*"]})
    assert index.scan(tokenize("kopie zapasowe"))["tech"] == ["kopie zapasowe"]
    assert index.scan(tokenize("kopie zapasowych"))["tech"] == []
    assert index.scan(tokenize("KI-gestützte Lösungen"))["tech"] == ["ki gestützte lösungen"]


@pytest.mark.parametrize("phrase", ["ko*pi zapasow*", "*kopi zapas*ow", "kopi** zapasow", "*two words"])
def test_a_star_that_could_never_match_is_refused_with_the_phrase_named(phrase: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(phrase))):
        PhraseIndex({"tech": [phrase]})


@pytest.mark.parametrize(
    "text",
    [
        "Thanks for stopping by our booth at the Dental Expo.",
        "Vielen Dank für Ihren Besuch an unserem Stand in Linz.",
        "Merci pour votre passage sur notre stand au salon Eurobois.",
        "Dziękuję za rozmowę na naszym stoisku.",
        "Tak för besöket i vår monter.",
    ],
)
def test_a_visit_to_a_trade_fair_stand_is_found(text: str) -> None:
    assert found(text).get("trade_fair"), text


@pytest.mark.parametrize(
    "text",
    [
        "Our stand-up team reviews every ticket.",  # not a stand
        "Nach unserem Stand ist die Rechnung bezahlt.",  # "as far as we know"
        "Het aandeel staat sinds 2019 op de beurs.",  # the stock exchange
        "Vi ses på mässan i kyrkan.",  # a church service
        "Tuloksista on lisää osastollamme.",  # our department
        "Η πρόταση περιλαμβάνεται στην έκθεση.",  # the report
        "Nos vemos en la feria del pueblo.",  # a village festival
    ],
)
def test_words_that_only_sometimes_mean_a_fair_are_not_a_trade_fair(text: str) -> None:
    assert "trade_fair" not in found(text), text
