"""Loading and validating the FAQ files: ``scripts_i18n/<locale>/faq.yaml`` (the entries) and
``scripts_i18n/<locale>/faq_words.yaml`` (the words the matcher sets aside or folds).

This module sits outside the framework-free core because it reads YAML; it turns the files into
:class:`bot.core.faq.FaqEntry` and :class:`bot.core.faq.FaqWords` values that
:class:`bot.core.faq.FaqIndex` is built from.

Each ``faq.yaml`` is one YAML list of mappings with the keys ``id``, ``topic``, ``question``,
``phrasings`` (a non-empty list of strings) and ``answer``. Every locale must define the same
set of ids. Problems raise :class:`FaqFileError`, whose message names the file, the entry id
(when there is one) and the line, so that whoever edits the content can fix it quickly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import yaml

from bot.core.faq import FaqEntry, FaqWords

#: libyaml's safe loader where PyYAML was built with it (ten times faster than the pure-Python
#: one, same result: every process, and every test that builds the services, reads the ~50
#: template and FAQ files of ``scripts_i18n/``).
YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

__all__ = ["TOPICS", "FaqFileError", "load_faq", "load_faq_words"]

TOPICS = frozenset(
    {
        "orders",
        "delivery",
        "returns",
        "payment",
        "invoices",
        "membership",
        "coupons",
        "account",
        "contact",
        "products",
    }
)
_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_REQUIRED = ("id", "topic", "question", "phrasings", "answer")


class FaqFileError(ValueError):
    """A FAQ file is missing, malformed or inconsistent with the other locales."""


def _where(path: Path, line: int | None, entry_id: str | None) -> str:
    place = str(path) if line is None else f"{path}:{line}"
    return place if entry_id is None else f"{place}: entry {entry_id!r}"


def _line(node: yaml.Node) -> int:
    """1-based line of a YAML node (yaml marks are 0-based)."""
    return node.start_mark.line + 1


def _scalar(node: yaml.Node | None) -> str | None:
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str":
        return str(node.value)
    return None


def _compose(path: Path, what: str) -> yaml.Node | None:
    """The YAML node tree of `path`; unreadable files and invalid YAML raise with the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FaqFileError(f"{path}: cannot read {what}: {exc}") from exc
    try:
        return yaml.compose(text, Loader=YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        raise FaqFileError(f"{_where(path, line, None)}: invalid YAML: {exc}") from exc


def _load_file(path: Path, locale: str) -> list[tuple[FaqEntry, int]]:
    """Parses one locale's file into entries paired with their line numbers."""
    root = _compose(path, "FAQ file")
    if not isinstance(root, yaml.SequenceNode):
        line = None if root is None else _line(root)
        raise FaqFileError(f"{_where(path, line, None)}: expected a list of FAQ entries")

    result: list[tuple[FaqEntry, int]] = []
    seen: dict[str, int] = {}
    for item in root.value:
        line = _line(item)
        if not isinstance(item, yaml.MappingNode):
            raise FaqFileError(f"{_where(path, line, None)}: each entry must be a mapping")
        fields: dict[str, yaml.Node] = {}
        for key_node, value_node in item.value:
            key = _scalar(key_node)
            if key is None:
                raise FaqFileError(f"{_where(path, _line(key_node), None)}: keys must be text")
            fields[key] = value_node
        entry_id = _scalar(fields.get("id"))
        for key in _REQUIRED:
            if key not in fields:
                raise FaqFileError(f"{_where(path, line, entry_id)}: missing field {key!r}")
        if entry_id is None or not _ID_RE.match(entry_id):
            raise FaqFileError(
                f"{_where(path, _line(fields['id']), entry_id)}: id must be kebab-case text"
            )
        if entry_id in seen:
            raise FaqFileError(
                f"{_where(path, line, entry_id)}: duplicate id (first defined at line "
                f"{seen[entry_id]})"
            )
        seen[entry_id] = line

        texts: dict[str, str] = {}
        for key in ("topic", "question", "answer"):
            value = _scalar(fields[key])
            if value is None or not value.strip():
                raise FaqFileError(
                    f"{_where(path, _line(fields[key]), entry_id)}: {key!r} must be non-empty text"
                )
            texts[key] = value.strip()
        if texts["topic"] not in TOPICS:
            raise FaqFileError(
                f"{_where(path, _line(fields['topic']), entry_id)}: unknown topic "
                f"{texts['topic']!r} (expected one of {', '.join(sorted(TOPICS))})"
            )

        phr_node = fields["phrasings"]
        if not isinstance(phr_node, yaml.SequenceNode) or not phr_node.value:
            raise FaqFileError(
                f"{_where(path, _line(phr_node), entry_id)}: 'phrasings' must be a non-empty list"
            )
        phrasings: list[str] = []
        for p_node in phr_node.value:
            value = _scalar(p_node)
            if value is None or not value.strip():
                raise FaqFileError(
                    f"{_where(path, _line(p_node), entry_id)}: each phrasing must be "
                    "non-empty text"
                )
            phrasings.append(value.strip())

        entry = FaqEntry(
            id=entry_id,
            topic=texts["topic"],
            locale=locale,
            question=texts["question"],
            phrasings=tuple(phrasings),
            answer=texts["answer"],
        )
        result.append((entry, line))
    if not result:
        raise FaqFileError(f"{_where(path, None, None)}: the FAQ file has no entries")
    return result


def load_faq(root: Path, locales: Sequence[str]) -> list[FaqEntry]:
    """Reads ``<root>/<locale>/faq.yaml`` for every locale and returns all entries.

    Entries keep the file order, locale by locale. Raises :class:`FaqFileError` when a file is
    missing or invalid, an id repeats within a file, a required field is missing or empty, or a
    locale's set of ids differs from the first locale's.
    """
    if not locales:
        raise FaqFileError("no locales given to load the FAQ for")
    entries: list[FaqEntry] = []
    reference: tuple[Path, dict[str, int]] | None = None
    for locale in locales:
        path = root / locale / "faq.yaml"
        loaded = _load_file(path, locale)
        ids = {entry.id: line for entry, line in loaded}
        if reference is None:
            reference = (path, ids)
        else:
            ref_path, ref_ids = reference
            for entry_id, line in ids.items():
                if entry_id not in ref_ids:
                    raise FaqFileError(
                        f"{_where(path, line, entry_id)}: id not present in {ref_path}"
                    )
            for entry_id, line in ref_ids.items():
                if entry_id not in ids:
                    raise FaqFileError(
                        f"{_where(path, None, entry_id)}: id missing here but defined in "
                        f"{ref_path}:{line}"
                    )
        entries.extend(entry for entry, _ in loaded)
    return entries


# --- word lists -------------------------------------------------------------------------------

_WORD_LISTS = ("small_talk", "stop_words", "particles", "not_words", "not_contractions")
_WORD_KEYS = frozenset({*_WORD_LISTS, "synonyms"})


def _word(path: Path, node: yaml.Node, what: str) -> str:
    value = _scalar(node)
    if value is None or not value.strip():
        raise FaqFileError(
            f"{_where(path, _line(node), None)}: each entry of {what} must be non-empty text "
            '(quote words YAML reads otherwise: "yes", "no", "on")'
        )
    return value.strip()


def _word_list(path: Path, key: str, node: yaml.Node) -> tuple[str, ...]:
    if not isinstance(node, yaml.SequenceNode):
        raise FaqFileError(f"{_where(path, _line(node), None)}: {key!r} must be a list")
    words: list[str] = []
    seen: dict[str, int] = {}
    for item in node.value:
        word = _word(path, item, repr(key))
        if word in seen:
            raise FaqFileError(
                f"{_where(path, _line(item), None)}: {word!r} is already listed in {key!r} at "
                f"line {seen[word]}"
            )
        if key == "particles" and len(word) != 1:
            raise FaqFileError(
                f"{_where(path, _line(item), None)}: particle {word!r} must be one character"
            )
        seen[word] = _line(item)
        words.append(word)
    return tuple(words)


def _synonyms(path: Path, node: yaml.Node) -> dict[str, str]:
    if not isinstance(node, yaml.MappingNode):
        raise FaqFileError(f"{_where(path, _line(node), None)}: 'synonyms' must be a mapping")
    table: dict[str, str] = {}
    for key_node, value_node in node.value:
        key = _word(path, key_node, "'synonyms'")
        if key in table:
            raise FaqFileError(f"{_where(path, _line(key_node), None)}: duplicate synonym {key!r}")
        table[key] = _word(path, value_node, "'synonyms'")
    return table


def _load_words(path: Path, locale: str) -> FaqWords:
    root = _compose(path, "FAQ word lists")
    if not isinstance(root, yaml.MappingNode):
        line = None if root is None else _line(root)
        raise FaqFileError(f"{_where(path, line, None)}: expected a mapping of word lists")
    lists: dict[str, tuple[str, ...]] = {}
    synonyms: dict[str, str] = {}
    seen: set[str] = set()
    for key_node, value_node in root.value:
        key = _scalar(key_node)
        if key is None or key not in _WORD_KEYS:
            raise FaqFileError(
                f"{_where(path, _line(key_node), None)}: unknown key {key!r} (expected "
                f"{', '.join(sorted(_WORD_KEYS))})"
            )
        if key in seen:
            raise FaqFileError(f"{_where(path, _line(key_node), None)}: duplicate key {key!r}")
        seen.add(key)
        if key == "synonyms":
            synonyms = _synonyms(path, value_node)
        else:
            lists[key] = _word_list(path, key, value_node)
    return FaqWords(
        locale=locale,
        small_talk=lists.get("small_talk", ()),
        stop_words=lists.get("stop_words", ()),
        particles=lists.get("particles", ()),
        not_words=lists.get("not_words", ()),
        not_contractions=lists.get("not_contractions", ()),
        synonyms=synonyms,
    )


def load_faq_words(root: Path, locales: Sequence[str]) -> dict[str, FaqWords]:
    """Reads ``<root>/<locale>/faq_words.yaml`` for every locale; raises :class:`FaqFileError`
    naming the file and line of the first problem (unknown keys included: a misspelt key would
    otherwise be ignored)."""
    if not locales:
        raise FaqFileError("no locales given to load the FAQ word lists for")
    return {locale: _load_words(root / locale / "faq_words.yaml", locale) for locale in locales}
