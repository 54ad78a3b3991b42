"""Translations of everything a student or an instructor reads: gettext catalogs managed with Babel.

Catalogs live in ``autograder/locale/<lang>/LC_MESSAGES/autograder.{po,mo}`` (the ``.mo`` is committed;
``make i18n`` extracts every marked string into ``autograder/locale/autograder.pot``, updates the
catalogs and compiles them). English is the source language and needs no catalog.

How a string is marked:

- ``_("…{name}…").format(name=…)`` translates now, in the *active* language. Translate the template,
  never the formatted result: values (names, numbers, exception messages) stay as they are.
- ``N_("…")`` marks a string for extraction without translating it (a constant translated where shown,
  with ``_(constant)``).
- A grader test's docstring (its first line is the check's name in results.json and the feedback) is
  extracted by ``extract_rule_docs`` and translated where results are written.
- Templates use Jinja2's ``i18n`` extension with ``translations(lang)``.

Which language: a submission's language is decided in one place, ``choose``: the ``--lang`` option
when it names a language, else the language its notebook says it is in (``metadata.autograder.lang``,
read by the loader), else English. Grading a submission runs inside ``using(lang)``, so every hint,
note and message made for it (in the trusted parent: graders, runner, engine) is in that language.
"""
from __future__ import annotations

import ast
import contextlib
import contextvars
import gettext
import re
import string
import tokenize
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

LOCALE = Path(__file__).resolve().parent / "locale"
DOMAIN = "autograder"
LANGUAGES = ("en", "zh")
DEFAULT = "en"
AUTO = "auto"  # ``--lang auto``: each submission in its notebook's language

_active: contextvars.ContextVar[str] = contextvars.ContextVar("autograder_lang", default=DEFAULT)


@lru_cache(maxsize=None)
def translations(lang: str = DEFAULT) -> gettext.NullTranslations:
    """The catalog for ``lang`` (English, the source language, needs none)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r} (one of {', '.join(LANGUAGES)})")
    if lang == DEFAULT:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE, languages=[lang])  # a missing catalog is a broken kit: raise


def normalize(code: object) -> str | None:
    """A language code as written in notebook metadata (``zh``, ``zh-CN``, ``zh_Hans``, ``EN``) as one of
    ``LANGUAGES``, or None when it is none of them."""
    if not isinstance(code, str):
        return None
    base = code.strip().replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else None


def choose(requested: str, notebook: str | None) -> str:
    """The language to grade a submission in: ``requested`` (``--lang``) unless it is ``auto``; then the
    notebook's own (``Submission.lang``, None when it says none); else English. The one place that decides."""
    if requested != AUTO:
        if requested not in LANGUAGES:
            raise ValueError(f"unknown language {requested!r} (one of {AUTO}, {', '.join(LANGUAGES)})")
        return requested
    return notebook if notebook in LANGUAGES else DEFAULT


def current() -> str:
    """The active language (``DEFAULT`` outside any ``using``)."""
    return _active.get()


@contextlib.contextmanager
def using(lang: str) -> Iterator[str]:
    """Make ``lang`` the active language inside the block (per thread and task: a context variable)."""
    translations(lang)  # an unknown language fails here, not at the first message
    token = _active.set(lang)
    try:
        yield lang
    finally:
        _active.reset(token)


class Text(str):
    """A translated string that remembers how it was made: its template (msgid) and the values formatted into it,
    part by part when strings were concatenated. ``_`` and ``ngettext`` return one; ``format`` and ``+`` keep it.
    So a hint said in one language can be said again in another (``say``), and two students who made the same
    mistake in two editions are one failure group in the class summary. Anything else (an f-string, ``join``)
    gives a plain ``str``: it is said only as it is.

    ``source`` is plain JSON data: a list of parts, each a literal string or ``{"id": msgid, "fields": {field:
    value}}`` (``"plural"`` and ``"n"`` too for ``ngettext``), where a field is a placeholder as written
    (``name!r``, ``x:.3f``) and its value the text it was formatted to, or the source of a nested ``Text``."""

    source: list[Any]

    def __new__(cls, text: str, source: list[Any]) -> Text:
        """``text`` as said, made from ``source``."""
        self = super().__new__(cls, text)
        self.source = source
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled with its source (a grading worker's results)."""
        return (Text, (str(self), self.source))

    def format(self, *args: Any, **kwargs: Any) -> Text:
        """``str.format``, remembering each placeholder's formatted value (for a template: one part)."""
        text = str.format(self, *args, **kwargs)
        if len(self.source) != 1 or not isinstance(self.source[0], dict) or self.source[0].get("fields"):
            return Text(text, [text])  # formatting a concatenation or a formatted text: only as it is
        fmt = string.Formatter()
        fields: dict[str, Any] = {}
        try:
            for _lit, name, spec, conv in fmt.parse(self):
                if name is None or not name or name.isdigit():
                    if name is not None:  # positional fields: say it only as it is
                        return Text(text, [text])
                    continue
                value, _key = fmt.get_field(name, args, kwargs)
                key = name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "")
                if isinstance(value, Text) and not conv and not spec:
                    fields[key] = {"text": value.source}
                else:
                    fields[key] = fmt.format_field(fmt.convert_field(value, conv), spec or "")
        except (ValueError, KeyError, IndexError, AttributeError, TypeError):
            return Text(text, [text])
        return Text(text, [{**self.source[0], "fields": fields}])

    def __add__(self, other: str) -> Text:
        """Concatenation keeps both sources."""
        return Text(str.__add__(self, other), self.source + _parts(other))

    def __radd__(self, other: str) -> Text:
        """A literal before a Text keeps the Text's source."""
        return Text(str.__add__(other, self), _parts(other) + self.source)


def _parts(text: str) -> list[Any]:
    return list(text.source) if isinstance(text, Text) else [str(text)]


_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


def say(source: Any, lang: str) -> str:
    """A ``Text.source`` said in ``lang``: each template translated, its placeholders filled with the values it
    was made with (a nested text said in ``lang`` too)."""
    out = []
    for part in source if isinstance(source, list) else [source]:
        if not isinstance(part, dict):
            out.append(str(part))
            continue
        t = translations(lang)
        template = (t.ngettext(str(part["id"]), str(part["plural"]), int(part["n"])) if "plural" in part
                    else t.gettext(str(part["id"])))
        fields = part.get("fields") or {}
        if not fields:
            out.append(template)
            continue

        def fill(m: re.Match[str], fields: dict[str, Any] = fields) -> str:
            if m[1] is None:
                return m[0][0]  # {{ or }}
            value = fields.get(m[1], m[0])
            return say(value["text"], lang) if isinstance(value, dict) else str(value)

        out.append(_FIELD.sub(fill, template))
    return "".join(out)


def _(message: str) -> Text:
    """``message`` translated into the active language (itself when it has no translation), as a ``Text``."""
    return Text(translations(_active.get()).gettext(message), [{"id": message}])


def ngettext(singular: str, plural: str, n: int) -> Text:
    """The singular or plural form for ``n``, translated into the active language, as a ``Text``."""
    return Text(translations(_active.get()).ngettext(singular, plural, n),
                [{"id": singular, "plural": plural, "n": int(n)}])


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it here."""
    return message


class Message(str):
    """A message made before its language is known (which file of a folder was graded): a ``str`` that
    reads as English, and keeps its template and values so that ``render`` can say it in the language
    chosen later. Made with ``defer``."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, params: dict[str, Any]) -> Message:
        """``msgid`` formatted with ``params`` in English; both kept for ``render``."""
        with using(DEFAULT):
            self = super().__new__(cls, _format(msgid, params))
        self.msgid, self.params = msgid, params
        return self

    def portable(self) -> list:
        """``[msgid, params]`` as plain JSON data (to hand to a grading worker); ``from_portable`` reads it."""
        return [self.msgid, {k: v.portable() if isinstance(v, Message) else v for k, v in self.params.items()}]


def defer(msgid: str, **params: Any) -> Message:
    """A ``Message``: ``msgid`` formatted with ``params`` (values or other Messages) once its language is known."""
    return Message(msgid, params)


def _format(msgid: str, params: dict[str, Any]) -> str:
    return _(msgid).format(**{k: render(v) for k, v in params.items()})


def render(text: Any) -> Any:
    """A ``Message`` said in the active language; anything else as it is."""
    return _format(text.msgid, text.params) if isinstance(text, Message) else text


def from_portable(data: Any) -> Any:
    """The ``Message`` that ``Message.portable`` wrote (a plain string stays a string)."""
    if isinstance(data, list) and len(data) == 2 and isinstance(data[0], str) and isinstance(data[1], dict):
        return Message(data[0], {k: from_portable(v) for k, v in data[1].items()})
    return data


# ---------------------------------------------------------------- extraction (Babel)


def rule_docs(source: str) -> Iterator[tuple[int, str]]:
    """(line, first line of the docstring) of every module-level ``test_…`` function in grader source:
    the check names that results.json and the feedback show (``runner.collect`` reads them with
    ``inspect.getdoc``, whose first line this is)."""
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            doc = ast.get_docstring(node)
            if doc:
                yield node.body[0].lineno, doc.splitlines()[0]


def extract_rule_docs(fileobj: IO[bytes], keywords: Any, comment_tags: Any,
                      options: dict[str, Any]
                      ) -> Iterator[tuple[int, str | None, str | tuple[str | None, ...], list[str]]]:
    """Babel extractor for grader files: everything Babel's Python extractor finds, plus each test's
    docstring (its check name). Registered in ``babel.cfg`` under ``[extractors]``."""
    from babel.messages.extract import extract_python

    # Babel's annotations give extract()'s items and a TypedDict of options: an extractor's items are
    # (lineno, funcname, message(s), comments), as extract() reads them, and the options are a plain dict
    yield from extract_python(fileobj, keywords, comment_tags, options)  # type: ignore[misc, arg-type]
    fileobj.seek(0)
    encoding, _lines = tokenize.detect_encoding(fileobj.readline)
    fileobj.seek(0)
    for lineno, doc in rule_docs(fileobj.read().decode(encoding)):
        yield lineno, None, doc, ["check name: the first line of a grader test's docstring"]
