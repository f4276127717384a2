"""The catalogues are complete and agree with the code: every marked text is in
the template (``messages.pot``) and translated in every language, with the same
placeholders; and the templates hold no unmarked user-facing text."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from jinja2 import Environment

from crm.i18n import LANGUAGES, TRANSLATIONS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|%[sdif]")
TRANSLATED = sorted(code for code in LANGUAGES if code != "en")


def _read(path: Path, locale: str | None = None):
    with path.open("rb") as file:
        return read_po(file, locale=locale)


def _ids(message) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def _extracted() -> set[str]:
    """The marked texts of crm/ and templates/, as ``make messages`` extracts them."""
    ids = set()
    jinja = {"extensions": "jinja2.ext.do"}
    keywords = {"_": None, "_l": None, "gettext": None, "ngettext": (1, 2)}
    for directory, method_map in (
        (ROOT / "crm", [("**.py", "python")]),
        (TEMPLATES, [("**.html", "jinja2"), ("**.txt", "jinja2")]),
    ):
        for _file, _line, message, _comments, _context in extract_from_dir(
            directory,
            method_map=method_map,
            options_map={"**.html": jinja, "**.txt": jinja},
            keywords=keywords,
        ):
            ids.add(message[0] if isinstance(message, tuple) else message)
    return ids


def test_the_message_template_holds_every_marked_text():
    template = {_ids(m)[0] for m in _read(TRANSLATIONS / "messages.pot") if m.id}
    extracted = _extracted()
    assert not extracted - template, "run `make messages`: texts not in messages.pot"
    assert not template - extracted, "run `make messages`: messages.pot holds texts no longer used"


@pytest.mark.parametrize("language", TRANSLATED)
def test_each_catalogue_translates_every_message_with_its_placeholders(language):
    template = {_ids(m)[0] for m in _read(TRANSLATIONS / "messages.pot") if m.id}
    catalogue = _read(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", language)
    messages = {_ids(m)[0]: m for m in catalogue if m.id}
    missing = sorted(template - set(messages))
    assert not missing, f"{language}: {len(missing)} messages missing, first {missing[:3]}"
    problems = []
    for msgid, message in messages.items():
        if msgid not in template:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated: {msgid!r}")
            continue
        expected = set(PLACEHOLDER.findall(" ".join(_ids(message))))
        for string in strings:
            found = set(PLACEHOLDER.findall(string))
            # A plural form may leave the count out ("one member" in words).
            if found != expected and not (isinstance(message.id, tuple) and found < expected):
                problems.append(f"placeholders {sorted(found)} != {sorted(expected)}: {msgid!r}")
    assert not problems, f"{language}: {len(problems)} problems, first {problems[:3]}"


# --- unmarked text in templates -------------------------------------------

# Attributes whose value a person reads.
READ_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "aria-description", "value"}
WORD = re.compile(r"[^\W\d_]{2,}")  # two letters in a row: a word, not a symbol or a number
# Names that stay as they are in every language: the product, formats and codes.
UNTRANSLATED = re.compile(
    r"Cluster Alliance CRM|\b(?:CSV|XLSX|PIC|NUTS|NACE|CORDIS|LEI|ISO|URL|SMTP|API|JSON)\b"
)


def _readable(text: str) -> bool:
    return bool(WORD.search(UNTRANSLATED.sub("", text)))


class _TextFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0  # inside <script> or <style>

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        attributes = dict(attrs)
        for name, value in attrs:
            if name not in READ_ATTRIBUTES or not value or not _readable(value):
                continue
            if name == "value" and attributes.get("type") not in ("submit", "button", "reset"):
                continue  # a form value, not a label
            self.found.append(f"{tag}[{name}]={value!r}")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and _readable(data):
            self.found.append(data.strip())


def unmarked_texts(source: str) -> list[str]:
    """The user-facing texts of a template that are not marked for translation:
    its literal text outside Jinja expressions, tags, comments and {% trans %}."""
    environment = Environment(extensions=["jinja2.ext.i18n"])
    literal = []
    in_trans = 0
    block: list[str] = []
    for _line, kind, value in environment.lex(source):
        if kind == "block_begin":
            block = []
        elif kind == "name" and block is not None:
            block.append(value)
        elif kind == "block_end" and block:
            if block[0] == "trans":
                in_trans += 1
            elif block[0] == "endtrans":
                in_trans -= 1
            block = []
        elif kind == "data" and not in_trans:
            literal.append(value)
        elif kind in ("variable_begin",):
            literal.append(" ")  # an expression splits the surrounding text
    finder = _TextFinder()
    finder.feed("".join(literal))
    finder.close()
    return finder.found


TEMPLATE_FILES = sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize("name", TEMPLATE_FILES)
def test_templates_hold_no_unmarked_text(name):
    found = unmarked_texts((TEMPLATES / name).read_text(encoding="utf-8"))
    assert not found, f"{name}: mark for translation: {found[:5]}"
