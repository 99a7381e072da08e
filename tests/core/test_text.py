"""``fold``'s fast paths (ASCII, word by word) give what folding the whole text gives."""

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from comptoir.core.text import fold, fold_cached


def _fold_reference(text: str) -> str:
    """The definition: case-fold, decompose, drop combining marks, spell out ligatures."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.replace("œ", "oe").replace("æ", "ae").replace("ø", "o").replace("ł", "l")


def test_fold_examples():
    assert fold("Hélène DUPONT") == "helene dupont"
    assert fold("Œuvre  Straße") == "oeuvre  strasse"
    assert fold("ÉLODIE.o'brien@EXAMPLE.com") == "elodie.o'brien@example.com"
    assert fold("") == "" and fold(None) == ""


@given(st.text(alphabet=st.sampled_from("aZé É\u0301\u0308 \u00a0\u00a8ßŒﬁΣİł\u0345x")))
def test_fold_matches_the_definition_on_accents_and_spaces(text):
    assert fold(text) == _fold_reference(text)
    assert fold_cached(text) == _fold_reference(text)


@given(st.text())
def test_fold_matches_the_definition_on_any_text(text):
    assert fold(text) == _fold_reference(text)
