"""The pages' texts in one gettext catalogue per language, chosen by the browser's Accept-Language.

English is the source language (the msgids); `locale/<lang>/LC_MESSAGES/messages.po` holds the
translations and is read as it is at start-up, so there is no compiled file to keep in step.
`babel.cfg` at the top of the tree tells `pybabel extract` where the texts are:

    pybabel extract -F babel.cfg -k N_ -o messages.pot salespulse/web
    pybabel update -i messages.pot -d salespulse/web/locale
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "nl")
DEFAULT_LANGUAGE = "en"


def N_(text: str) -> str:
    """Mark a text for the catalogue; it is translated where it is shown (`_(...)` in a template)."""
    return text


def choose_language(accept_language: str | None) -> str:
    """Return the first language of LANGUAGES the header asks for, by its q-values; else English."""
    wishes: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            wishes.append((-quality, index, tag.split("-")[0].lower()))
    for _, _, language in sorted(wishes):
        if language in LANGUAGES:
            return language
    return DEFAULT_LANGUAGE


@cache
def translations(language: str) -> NullTranslations:
    """Return the catalogue of a language; English, the source, translates nothing."""
    if language == DEFAULT_LANGUAGE:
        return NullTranslations()
    with open(LOCALES / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)
