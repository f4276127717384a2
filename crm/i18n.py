"""The interface's language, formats and time zone (Flask-Babel).

The language is the user's own choice (``users.language``), else the
association's (``tenants.language``, else its country's), else English for
the alliance office; before sign-in, the browser's. Times are shown in the
association's time zone. Catalogues live in ``crm/translations`` as ``.po``
files; their compiled ``.mo`` are made when the app starts whenever missing or
older (docs/translating.md).
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, has_request_context, request, session
from flask_babel import Babel, force_locale, get_locale, lazy_gettext, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from crm import formats

__all__ = ["_", "_l", "ngettext", "force_locale", "current_language", "LANGUAGES"]

# For fixed texts only (labels, choices): Jinja takes a lazy string as safe markup,
# so a value put into one would not be escaped; `_` escapes as usual.
_l = lazy_gettext
TRANSLATIONS = Path(__file__).parent / "translations"
DEFAULT_LANGUAGE = "en"
DEFAULT_TIME_ZONE = "UTC"

# Each language in its own name, as the switcher lists them.
LANGUAGES = {
    "en": "English",
    "bg": "Български",
    "cs": "Čeština",
    "es": "Español",
    "fi": "Suomi",
    "fr": "Français",
    "hu": "Magyar",
    "lt": "Lietuvių",
    "lv": "Latviešu",
    "pl": "Polski",
    "pt": "Português",
    "ro": "Română",
    "sk": "Slovenčina",
}
# An association's language and time zone until it chooses others: its country's.
COUNTRY_DEFAULTS = {
    "BG": ("bg", "Europe/Sofia"),
    "CZ": ("cs", "Europe/Prague"),
    "ES": ("es", "Europe/Madrid"),
    "FI": ("fi", "Europe/Helsinki"),
    "FR": ("fr", "Europe/Paris"),
    "HU": ("hu", "Europe/Budapest"),
    "LT": ("lt", "Europe/Vilnius"),
    "LV": ("lv", "Europe/Riga"),
    "PL": ("pl", "Europe/Warsaw"),
    "PT": ("pt", "Europe/Lisbon"),
    "RO": ("ro", "Europe/Bucharest"),
    "SK": ("sk", "Europe/Bratislava"),
}
RTL_LANGUAGES: frozenset[str] = frozenset()  # none of ours yet; `dir` is set from this


def tenant_language(tenant) -> str:
    if tenant is None:
        return DEFAULT_LANGUAGE
    return tenant.language or COUNTRY_DEFAULTS.get(tenant.country, (DEFAULT_LANGUAGE,))[0]


def tenant_time_zone(tenant) -> str:
    if tenant is None:
        return DEFAULT_TIME_ZONE
    return tenant.time_zone or COUNTRY_DEFAULTS.get(tenant.country, ("", DEFAULT_TIME_ZONE))[1]


def _user_tenant():
    """The signed-in user's association: the URL's, or the user's own."""
    tenant = g.get("tenant")
    if tenant is None and current_user.tenant_id:
        from crm.extensions import db
        from crm.models import Tenant

        tenant = db.session.get(Tenant, current_user.tenant_id)
    return tenant


def user_language(user, tenant) -> str:
    """``user``'s interface language: their choice, else their association's
    (``tenant``), else English (the alliance office)."""
    if user.language in LANGUAGES:
        return user.language
    return DEFAULT_LANGUAGE if user.is_alliance else tenant_language(tenant)


def select_language() -> str:
    if not has_request_context():
        return DEFAULT_LANGUAGE
    if current_user.is_authenticated:
        if current_user.language in LANGUAGES:
            return current_user.language
        return user_language(current_user, None if current_user.is_alliance else _user_tenant())
    chosen = session.get("language")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def select_time_zone() -> str:
    if not has_request_context() or not current_user.is_authenticated or current_user.is_alliance:
        return DEFAULT_TIME_ZONE
    return tenant_time_zone(_user_tenant())


def current_language() -> str:
    return str(get_locale() or DEFAULT_LANGUAGE)


def text_direction() -> str:
    return "rtl" if current_language() in RTL_LANGUAGES else "ltr"


def compile_catalogues(directory: Path = TRANSLATIONS) -> list[Path]:
    """Compile each ``.po`` whose ``.mo`` is missing or older; the paths compiled."""
    compiled = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po:
            catalogue = read_po(po, locale=po_path.parent.parent.name)
        tmp = mo_path.with_suffix(".mo.tmp")
        with tmp.open("wb") as mo:
            write_mo(mo, catalogue)
        tmp.replace(mo_path)  # atomic: a worker starting beside us never reads half a file
        compiled.append(po_path)
    return compiled


def install(app: Flask) -> None:
    try:
        compile_catalogues()
    except OSError as error:  # a read-only install: run `make translations` when building it
        app.logger.warning("translations not compiled: %s", error)
    Babel(
        app,
        default_translation_directories=str(TRANSLATIONS),
        locale_selector=select_language,
        timezone_selector=select_time_zone,
    )
    formats.install(app)
    # `{% do x.update(...) %}`: never `{% set _ = ... %}`, which would hide gettext's `_`.
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.globals.update(
        current_language=current_language, text_direction=text_direction, LANGUAGES=LANGUAGES
    )
