"""Translations of everything a student or an instructor reads: gettext catalogs managed with Babel.

Catalogs live in ``autograder/locale/<lang>/LC_MESSAGES/autograder.{po,mo}``. Code marks strings
with ``_()`` (translated now) or ``N_()`` (marked for extraction, translated where shown), and
templates use Jinja2's ``i18n`` extension with the same catalogs.

(Skeleton: English only until the catalogs land.)
"""
from __future__ import annotations

import gettext
from functools import lru_cache
from pathlib import Path

LOCALE = Path(__file__).resolve().parent / "locale"
DOMAIN = "autograder"
LANGUAGES = ("en", "zh")
DEFAULT = "en"


@lru_cache(maxsize=None)
def translations(lang: str = DEFAULT) -> gettext.NullTranslations:
    """The catalog for ``lang`` (English, the source language, needs none)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r} (one of {', '.join(LANGUAGES)})")
    return gettext.translation(DOMAIN, LOCALE, languages=[lang], fallback=True)


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it here."""
    return message
