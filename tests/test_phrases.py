from __future__ import annotations

from detectors.phrases import phrase_index, tokenize


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
    assert word not in index._word_hits
