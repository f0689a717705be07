"""detectors.text: cleaning and folding against evasion tricks."""

from __future__ import annotations

from detectors.text import clean, fold


def test_clean_removes_invisible_characters_used_to_split_words() -> None:
    hidden = "Mi\u200bcro\u200csoft \u00adAzure\u2060 cre\ufeffdits \u202eoffer\u202c \u034ffree\u180e"
    assert clean(hidden) == "Microsoft Azure credits offer free"


def test_clean_normalises_compatibility_forms_and_whitespace_but_keeps_lines() -> None:
    text = "Ｍｉｃｒｏｓｏｆｔ\u00a0365 \t ﬁnance\r\n\r\n\r\n\r\nSecond   paragraph  \n  line two"
    assert clean(text) == "Microsoft 365 finance\n\nSecond paragraph\nline two"


def test_clean_survives_lone_surrogates_and_controls() -> None:
    text = clean("broken \ud800 half \udfff pair\x00\x07 end")
    assert text == "broken \ufffd half \ufffd pair end"
    text.encode("utf-8")  # storable and printable


def test_fold_undoes_cyrillic_lookalikes_and_zero_width_splits() -> None:
    assert fold("Mі\u200bcrosoft") == "microsoft"  # Cyrillic і and a zero-width space
    assert fold("Місrosoft Аzure") == "microsoft azure"  # Cyrillic М, і, с and А
    assert fold("Αpple") == "apple"  # Greek capital alpha


def test_fold_keeps_real_cyrillic_greek_and_accented_text() -> None:
    assert fold("Привет, как дела? Спасибо") == "привет, как дела? спасибо"
    assert fold("Καλημέρα σας") == "καλημέρα σας"
    assert fold("Mit freundlichen Grüßen, Hélène") == "mit freundlichen grüßen, hélène"


def test_fold_catches_lookalike_only_words_in_english_text() -> None:
    # "Асег" is written entirely in Cyrillic letters that look Latin.
    assert fold("Your new Асег laptop offer is ready") == "your new acer laptop offer is ready"
