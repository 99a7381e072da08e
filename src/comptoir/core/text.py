"""Text folding for search: case- and accent-insensitive, the same in Python and in the index."""

import unicodedata

_FOLD_CACHE: dict[str, str] = {}


def fold(text: str | None) -> str:
    """'Hélène DUPONT' -> 'helene dupont'; 'Œuvre' -> 'oeuvre'; 'Straße' -> 'strasse'."""
    if not text:
        return ""
    if text.isascii():
        # Nothing to decompose or strip: case folding is all there is (and for ASCII it is
        # lower()). Most names, e-mails and postcodes take this path.
        return text.lower()
    if " " in text:
        # Folding works character by character and a space stops the reordering of combining
        # marks, so each word folds on its own; words (names, cities) repeat across customers.
        # ASCII words (most of them, e-mails among them) skip the cache: they are cheap.
        return " ".join(
            [word.lower() if word.isascii() else fold_cached(word) for word in text.split(" ")]
        )
    return _fold_chars(text)


def _fold_chars(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.replace("œ", "oe").replace("æ", "ae").replace("ø", "o").replace("ł", "l")


def fold_cached(text: str) -> str:
    """``fold`` for the bulk paths, where the same names come back many times."""
    folded = _FOLD_CACHE.get(text)
    if folded is None:
        folded = fold(text)
        if len(_FOLD_CACHE) < 200_000:
            _FOLD_CACHE[text] = folded
    return folded
