"""The pages' language: chosen by Accept-Language, and every text of the pages in the Dutch catalogue."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from salespulse.web.i18n import LOCALES, choose_language, translations

WEB = Path(__file__).resolve().parents[3] / "salespulse" / "web"
# As babel.cfg at the top of the tree says.
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def test_the_browser_language_picks_the_catalogue() -> None:
    assert choose_language("nl-NL,nl;q=0.9,en-US;q=0.8,en;q=0.7") == "nl"
    assert choose_language("en-GB,en;q=0.9,nl;q=0.8") == "en"
    assert choose_language("de-DE,de;q=0.9,nl;q=0.5") == "nl", "the first language we have"
    assert choose_language("en;q=0.2, nl-BE;q=0.6") == "nl", "by q-value, not by order"
    assert choose_language("nl;q=0, fr") == "en", "q=0 means not wanted"
    assert choose_language("") == choose_language(None) == choose_language("*") == "en"


def test_every_text_of_the_pages_has_its_dutch_translation() -> None:
    texts = {
        message if isinstance(message, str) else message[0]
        for _, _, message, *_ in extract_from_dir(str(WEB), METHODS, keywords=KEYWORDS, options_map=OPTIONS)
    }
    assert len(texts) > 50, "the extraction found the pages' texts"
    with open(LOCALES / "nl" / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po)
    translated = {m.id: m.string for m in catalog if m.id and m.string and "fuzzy" not in m.flags}
    assert sorted(texts - set(translated)) == [], "texts without a Dutch translation: run pybabel update (see i18n.py)"
    assert sorted(set(translated) - texts) == [], "translations of texts the pages no longer have"


def test_placeholders_survive_translation() -> None:
    dutch = translations("nl")
    assert dutch.gettext("enter a number from %(low)d to %(high)d") % {"low": 1, "high": 5} == "vul een getal van 1 tot en met 5 in"
    assert translations("en").gettext("My week") == "My week"
