"""The template renderer: every sentence the bot says comes from ``scripts_i18n/<locale>/``.

Each locale folder holds ``messages/*.yaml`` (one file per feature: ``general.yaml``,
``complaints.yaml`` …; nested keys, flattened with dots, each value a Jinja2 template; a
key may be defined in one file only) and ``faq.yaml``, whose questions and answers are
exposed as the keys ``faq.<id>.question`` and ``faq.<id>.answer``.

Templates are compiled at start-up (a broken one stops the start, naming its key), with
``StrictUndefined`` (a missing parameter is
an error, not an empty string) and HTML autoescaping, because replies are sent with
Telegram's HTML parse mode: anything a customer wrote is escaped when it is interpolated,
while the template's own markup is kept.

Compiling the ~1,100 shipped templates takes a second or more; the Python code each compiles to
is kept for the process (:func:`_compiled`), so a process that builds the renderer again (the
test suite builds one per test, ``rapport demo`` one per framework) pays that once.

Inside a template ``t(key, **params)`` renders another key in the same locale, and every
template sees the deployment-wide globals (``business_name``).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import CodeType
from typing import Any

import yaml
from jinja2 import Environment, StrictUndefined, Template, TemplateError
from markupsafe import Markup

from bot.app.faq_data import YAML_LOADER
from bot.core.faq import FaqEntry
from scripts_i18n import ROOT

log = logging.getLogger(__name__)

SCRIPTS_DIR = ROOT


class TemplateFileError(ValueError):
    """A template file is malformed; the message names the file, the key and the reason."""


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"a": {"b": "x"}}`` → ``{"a.b": "x"}``; leaves must be strings."""
    flat: dict[str, str] = {}
    for name, value in tree.items():
        if not isinstance(name, str):  # YAML 1.1 reads a bare yes/no/on/off key as a bool
            raise TemplateFileError(f"{prefix}{name}: a key must be text; quote it")
        key = f"{prefix}{name}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{key}."))
        elif isinstance(value, str):
            flat[key] = value
        else:
            kind = type(value).__name__
            raise TemplateFileError(f"{key}: expected text or a mapping, got {kind}")
    return flat


def load_messages(path: Path) -> dict[str, str]:
    """Reads one ``messages.yaml`` into flat ``key → template source``."""
    try:
        tree = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER) or {}
    except yaml.YAMLError as exc:
        raise TemplateFileError(f"{path}: {exc}") from exc
    if not isinstance(tree, Mapping):
        raise TemplateFileError(f"{path}: the top level must be a mapping of keys")
    try:
        return flatten(tree)
    except TemplateFileError as exc:
        raise TemplateFileError(f"{path}: {exc}") from exc


def load_message_folder(folder: Path) -> dict[str, str]:
    """Reads every ``*.yaml`` in a locale's ``messages/`` folder into one flat mapping."""
    merged: dict[str, str] = {}
    origin: dict[str, Path] = {}
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise TemplateFileError(f"{folder}: no message files")
    for path in files:
        for key, source in load_messages(path).items():
            if key in merged:
                raise TemplateFileError(f"{path}: {key} is already defined in {origin[key]}")
            merged[key], origin[key] = source, path
    return merged


def faq_sources(entries: Sequence[FaqEntry]) -> dict[str, dict[str, str]]:
    """FAQ questions and answers as template sources, per locale."""
    by_locale: dict[str, dict[str, str]] = {}
    for entry in entries:
        sources = by_locale.setdefault(entry.locale, {})
        sources[f"faq.{entry.id}.question"] = entry.question
        sources[f"faq.{entry.id}.answer"] = entry.answer.strip()
    return by_locale


ENVIRONMENT_OPTIONS: dict[str, Any] = {
    "autoescape": True,
    "undefined": StrictUndefined,
    "keep_trailing_newline": False,
    "trim_blocks": True,
    "lstrip_blocks": True,
}
"""How every renderer's templates are read and compiled (the code :func:`_compiled` keeps
depends on these, so they are one constant)."""
_COMPILER = Environment(**ENVIRONMENT_OPTIONS)


@functools.cache
def _compiled(source: str) -> CodeType:
    """The Python code of the template `source` (raises jinja2's :class:`TemplateError`; an
    error is not kept). Globals and the environment are bound later, per renderer, so one code
    object serves every renderer of the process."""
    code: CodeType = _COMPILER.compile(source)
    return code


class Renderer:
    """Implements :class:`bot.core.ports.Renderer` over compiled Jinja2 templates.

    A key missing in a locale falls back to the first locale (``en``), so a half-translated
    deployment still answers; the test suite keeps the shipped locales complete.
    """

    def __init__(
        self,
        sources: Mapping[str, Mapping[str, str]],
        globals_: Mapping[str, Any] | None = None,
    ) -> None:
        if not sources:
            raise TemplateFileError("no locales given")
        self._locales = tuple(sources)
        self._env = Environment(**ENVIRONMENT_OPTIONS)
        self._env.globals.update(globals_ or {})
        self._templates: dict[str, dict[str, Template]] = {}
        for locale, keys in sources.items():
            compiled: dict[str, Template] = {}
            for key, source in keys.items():
                try:
                    compiled[key] = self._template_of(source)
                except TemplateError as exc:
                    raise TemplateFileError(f"{locale}/{key}: {exc}") from exc
            self._templates[locale] = compiled

    def _template_of(self, source: str) -> Template:
        """`source` as a template of this renderer's environment (what
        :meth:`Environment.from_string` does, with the compiled code kept)."""
        env = self._env
        return env.template_class.from_code(env, _compiled(source), env.make_globals(None))

    @property
    def locales(self) -> Sequence[str]:
        return self._locales

    def keys(self, locale: str) -> set[str]:
        return set(self._templates.get(locale, {}))

    def has(self, key: str, locale: str) -> bool:
        return key in self._templates.get(locale, {})

    def _template(self, key: str, locale: str) -> Template:
        template = self._templates.get(locale, {}).get(key)
        if template is None:
            template = self._templates[self._locales[0]].get(key)
            if template is None:
                raise KeyError(f"no template {key!r}")
            log.warning("template %s missing in %s; using %s", key, locale, self._locales[0])
        return template

    def render(self, key: str, locale: str, params: Mapping[str, Any] | None = None) -> str:
        def t(other: str, **kwargs: Any) -> Markup:
            return Markup(self.render(other, locale, kwargs))

        text = self._template(key, locale).render({**(params or {}), "t": t, "locale": locale})
        return text.strip()


def build_renderer(
    root: Path, locales: Sequence[str], faq: Sequence[FaqEntry], globals_: Mapping[str, Any]
) -> Renderer:
    """Loads every locale's ``messages/`` and the FAQ into one renderer."""
    faq_by_locale = faq_sources(faq)
    sources: dict[str, dict[str, str]] = {}
    for locale in locales:
        keys = load_message_folder(root / locale / "messages")
        keys.update(faq_by_locale.get(locale, {}))
        sources[locale] = keys
    return Renderer(sources, globals_)
