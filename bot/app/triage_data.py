"""Loading and validating the triage lexicons in ``scripts_i18n/<locale>/triage.yaml``.

This module sits outside the framework-free core because it reads YAML; it turns each file into
a :class:`bot.core.triage.Lexicon`. The file format is described at the top of
``scripts_i18n/en/triage.yaml``. Every problem raises :class:`TriageFileError`, whose message
names the file and the line (``path:line: what is wrong``), so whoever edits the word lists can
fix them quickly. Unknown keys are refused too: a misspelt key would otherwise be ignored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import yaml

from bot.app.faq_data import YAML_LOADER
from bot.core.triage import Lexicon, Severity, Term
from scripts_i18n import ROOT

__all__ = ["DEFAULT_ROOT", "TriageFileError", "load_lexicon", "load_lexicons"]

DEFAULT_ROOT = ROOT
_CATEGORY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_TOP_KEYS = {
    "terms",
    "negation",
    "clause_breaks",
    "question_cues",
    "hypothetical_cues",
    "sentiment",
    "summary",
    "not_typos",
}
_GROUP_KEYS = {"category", "severity", "label", "weak", "match"}
_STR = "tag:yaml.org,2002:str"


class TriageFileError(ValueError):
    """A triage lexicon file is missing or malformed."""


class _File:
    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, node: yaml.Node | None, message: str) -> TriageFileError:
        where = str(self.path) if node is None else f"{self.path}:{node.start_mark.line + 1}"
        return TriageFileError(f"{where}: {message}")

    def mapping(
        self, node: yaml.Node, what: str, allowed: set[str] | None = None
    ) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{what} must be a mapping")
        result: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if not (isinstance(key_node, yaml.ScalarNode) and key_node.value != ""):
                raise self.error(key_node, f"keys of {what} must be text")
            key = str(key_node.value)
            if allowed is not None and key not in allowed:
                raise self.error(
                    key_node,
                    f"unknown key {key!r} in {what} (expected {', '.join(sorted(allowed))})",
                )
            if key in result:
                raise self.error(key_node, f"duplicate key {key!r} in {what}")
            result[key] = value_node
        return result

    def text(self, node: yaml.Node, what: str, *, empty: bool = False) -> str:
        # numbers such as 12315 are fine as words; booleans and nulls are not
        if not isinstance(node, yaml.ScalarNode) or node.tag not in (
            _STR,
            "tag:yaml.org,2002:int",
        ):
            raise self.error(node, f"{what} must be text")
        value = str(node.value).strip()
        if not value and not empty:
            raise self.error(node, f"{what} must not be empty")
        return value

    def texts(self, node: yaml.Node, what: str) -> tuple[str, ...]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, f"{what} must be a list")
        return tuple(self.text(item, f"each entry of {what}") for item in node.value)

    def number(self, node: yaml.Node, what: str, *, positive: bool = False) -> float:
        if not isinstance(node, yaml.ScalarNode) or node.tag not in (
            "tag:yaml.org,2002:int",
            "tag:yaml.org,2002:float",
        ):
            raise self.error(node, f"{what} must be a number")
        value = float(node.value)
        if value < 0 or (positive and value == 0):
            raise self.error(node, f"{what} must be {'positive' if positive else 'at least 0'}")
        return value

    def weights(self, node: yaml.Node, what: str, *, positive: bool) -> dict[str, float]:
        table = self.mapping(node, what)
        return {
            key.strip(): self.number(value, f"the weight of {key!r} in {what}", positive=positive)
            for key, value in table.items()
        }

    def flag(self, node: yaml.Node, what: str) -> bool:
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:bool":
            raise self.error(node, f"{what} must be true or false")
        return str(node.value).lower() in ("true", "yes", "on")


def _terms(f: _File, node: yaml.Node) -> tuple[Term, ...]:
    if not isinstance(node, yaml.SequenceNode) or not node.value:
        raise f.error(node, "'terms' must be a non-empty list of groups")
    terms: list[Term] = []
    seen: dict[str, int] = {}
    for group in node.value:
        fields = f.mapping(group, "a term group", _GROUP_KEYS)
        for key in ("category", "severity", "match"):
            if key not in fields:
                raise f.error(group, f"term group is missing {key!r}")
        category = f.text(fields["category"], "'category'")
        if not _CATEGORY_RE.match(category):
            raise f.error(fields["category"], f"category {category!r} must be snake_case")
        severity_text = f.text(fields["severity"], "'severity'")
        try:
            severity = Severity(severity_text)
        except ValueError:
            raise f.error(
                fields["severity"],
                f"unknown severity {severity_text!r} (expected general, quality or major)",
            ) from None
        label = f.text(fields["label"], "'label'", empty=True) if "label" in fields else ""
        weak = f.flag(fields["weak"], "'weak'") if "weak" in fields else False
        match = fields["match"]
        if not isinstance(match, yaml.SequenceNode) or not match.value:
            raise f.error(match, "'match' must be a non-empty list")
        for item in match.value:
            text = f.text(item, "each entry of 'match'")
            if text.strip(". ") == "" or text.startswith("...") or text.endswith("..."):
                raise f.error(item, f"term {text!r} must have words on both sides of '...'")
            line = item.start_mark.line + 1
            key = text.casefold()
            if key in seen:
                raise f.error(item, f"term {text!r} is already listed at line {seen[key]}")
            seen[key] = line
            terms.append(Term(text, category, severity, weak, label))
    return tuple(terms)


def load_lexicon(path: Path, locale: str) -> Lexicon:
    """Reads and validates one ``triage.yaml``."""
    f = _File(path)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TriageFileError(f"{path}: cannot read triage lexicon: {exc}") from exc
    try:
        root = yaml.compose(source, Loader=YAML_LOADER)  # libyaml's: 10x faster
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = str(path) if mark is None else f"{path}:{mark.line + 1}"
        problem = getattr(exc, "problem", None) or str(exc)
        raise TriageFileError(f"{where}: invalid YAML: {problem}") from exc
    if root is None:
        raise TriageFileError(f"{path}: the triage lexicon is empty")
    top = f.mapping(root, "the file", _TOP_KEYS)
    if "terms" not in top:
        raise f.error(root, "missing 'terms'")
    terms = _terms(f, top["terms"])

    def texts(key: str) -> tuple[str, ...]:
        return f.texts(top[key], repr(key)) if key in top else ()

    neg = (
        f.mapping(top["negation"], "'negation'", {"cues", "scope", "pseudo"})
        if ("negation" in top)
        else {}
    )
    scope = 3
    if "scope" in neg:
        scope_value = f.number(neg["scope"], "'negation.scope'", positive=True)
        if scope_value != int(scope_value):
            raise f.error(neg["scope"], "'negation.scope' must be a whole number")
        scope = int(scope_value)
    sentiment = (
        f.mapping(top["sentiment"], "'sentiment'", {"negative", "positive", "intensifiers"})
        if "sentiment" in top
        else {}
    )
    summary = (
        f.mapping(top["summary"], "'summary'", {"determiners", "stop"}) if "summary" in top else {}
    )

    def weights(key: str, *, positive: bool) -> dict[str, float]:
        node = sentiment.get(key)
        return {} if node is None else f.weights(node, f"'sentiment.{key}'", positive=positive)

    return Lexicon(
        locale=locale,
        terms=terms,
        negation_cues=f.texts(neg["cues"], "'negation.cues'") if "cues" in neg else (),
        negation_scope=scope,
        negation_pseudo=f.texts(neg["pseudo"], "'negation.pseudo'") if "pseudo" in neg else (),
        clause_breaks=texts("clause_breaks"),
        question_cues=texts("question_cues"),
        hypothetical_cues=texts("hypothetical_cues"),
        negative=weights("negative", positive=False),
        positive=weights("positive", positive=False),
        intensifiers=weights("intensifiers", positive=True),
        determiners=f.texts(summary["determiners"], "'summary.determiners'")
        if "determiners" in summary
        else (),
        summary_stop=f.texts(summary["stop"], "'summary.stop'") if "stop" in summary else (),
        not_typos=texts("not_typos"),
    )


def load_lexicons(root: Path, locales: Sequence[str]) -> dict[str, Lexicon]:
    """Reads ``<root>/<locale>/triage.yaml`` for every locale; raises :class:`TriageFileError`
    naming the file and line of the first problem."""
    if not locales:
        raise TriageFileError("no locales given to load the triage lexicons for")
    return {locale: load_lexicon(root / locale / "triage.yaml", locale) for locale in locales}
