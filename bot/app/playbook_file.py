"""Reads and checks a playbook file (the format is documented at the top of the shipped
``scripts_i18n/playbook.yaml`` and in the README).

The file is parsed with :func:`yaml.compose`, which keeps every node's position, so each
problem is reported as ``file:line: sentence`` — unknown keys, bad cadences or durations,
unknown tiers, stages, segments or conditions, and template keys that some locale lacks.
:func:`load_playbook` collects every problem it can find before giving up, so one run of
``rapport playbook check`` lists them all.

The node readers (:func:`text_field`, :func:`list_field`, :func:`mapping_field`,
:func:`bool_field`, :func:`line_of`, :class:`Invalid`, :class:`Reader`) are shared with the
campaign file (:mod:`bot.app.campaign_file`), so both report mistakes the same way.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.core.engagement.playbook import (
    Audience,
    Cadence,
    CadenceKind,
    Condition,
    Content,
    CouponKind,
    CouponSpec,
    Playbook,
    Rule,
    RuleAction,
    RuleKind,
    Trigger,
    TriggerKind,
    Variant,
)
from bot.core.staff_tasks import TaskKind
from bot.core.tiers import Lifecycle, Segment, Tier
from scripts_i18n import ROOT

DEFAULT_PLAYBOOK = ROOT / "playbook.yaml"
"""The shipped playbook: every line of SPEC §8."""

OFFER_PREFIX = "engage.offer."
"""A rule with a coupon words it with ``engage.offer.<kind>``; those keys must exist too."""

_RULE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")
_DURATION = re.compile(r"^(\d+)\s*([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}

_RULE_KEYS = {
    "id",
    "kind",
    "audience",
    "cadence",
    "trigger",
    "template",
    "coupon",
    "variants",
    "min_interval_days",
    "content",
    "action",
}
_AUDIENCE_KEYS = {"tiers", "stages", "segments", "tags", "languages", "has_advisor"}
_TRIGGER_KEYS = {"event", "after", "until"}
_COUPON_KEYS = {"kind", "value", "min_spend", "valid_days"}
_VARIANT_KEYS = {"when", "template", "coupon", "task"}
_VARIANT_TASKS = (TaskKind.CALLBACK,)
"""The staff tasks a variant may open with its message."""
_PLAIN_CADENCES = {
    CadenceKind.ONCE,
    CadenceKind.QUARTERLY,
    CadenceKind.HALF_YEARLY,
    CadenceKind.YEARLY,
    CadenceKind.BIRTHDAY,
    CadenceKind.MONTHLY,
}
_COUNTED_CADENCES = {CadenceKind.MONTHLY, CadenceKind.EVERY_DAYS, CadenceKind.EVERY_WEEKS}

E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class PlaybookIssue:
    """One problem in a playbook file; ``str()`` gives ``file:line: message``."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class PlaybookError(ValueError):
    """A playbook file with problems; `issues` lists every one found."""

    def __init__(self, issues: Sequence[PlaybookIssue]) -> None:
        super().__init__("\n".join(str(issue) for issue in issues))
        self.issues = list(issues)


class Invalid(Exception):
    """One problem in the node being read; it stops reading that node, not the file."""

    def __init__(self, node: Node, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


def line_of(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _describe(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return f"{node.value!r}"


def text_field(node: Node, what: str) -> str:
    if not isinstance(node, ScalarNode) or node.tag != "tag:yaml.org,2002:str" or not node.value:
        raise Invalid(node, f"{what} must be a word or text, not {_describe(node)}.")
    return str(node.value)


def _int(node: Node, what: str, low: int, high: int | None = None) -> int:
    if not isinstance(node, ScalarNode) or node.tag != "tag:yaml.org,2002:int":
        raise Invalid(node, f"{what} must be a whole number, not {_describe(node)}.")
    value = int(node.value)
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise Invalid(node, f"{what} must be {bounds}, not {value}.")
    return value


def bool_field(node: Node, what: str) -> bool:
    if not isinstance(node, ScalarNode) or node.tag != "tag:yaml.org,2002:bool":
        raise Invalid(node, f"{what} must be true or false, not {_describe(node)}.")
    return str(node.value).lower() in ("true", "yes", "on")


def _money_cents(node: Node, what: str) -> int:
    if not isinstance(node, ScalarNode) or node.tag not in (
        "tag:yaml.org,2002:int",
        "tag:yaml.org,2002:float",
    ):
        raise Invalid(node, f"{what} must be an amount such as 10 or 9.90, not {_describe(node)}.")
    try:
        amount = Decimal(node.value)
    except InvalidOperation:
        raise Invalid(node, f"{what} must be an amount such as 10 or 9.90.") from None
    cents = amount * 100
    if amount < 0 or cents != cents.to_integral_value():
        raise Invalid(node, f"{what} must be a positive amount with at most two decimals.")
    return int(cents)


def _enum(node: Node, kind: type[E], what: str) -> E:
    word = text_field(node, what)
    try:
        return kind(word)
    except ValueError:
        known = ", ".join(member.value for member in kind)
        raise Invalid(node, f"{what} {word!r} is unknown; use one of: {known}.") from None


def mapping_field(node: Node, what: str, allowed: Collection[str]) -> dict[str, tuple[Node, Node]]:
    """The mapping's entries by key (with their key nodes), refusing unknown and repeated
    keys."""
    if not isinstance(node, MappingNode):
        raise Invalid(node, f"{what} must be a mapping of keys, not {_describe(node)}.")
    entries: dict[str, tuple[Node, Node]] = {}
    for key_node, value_node in node.value:
        key = text_field(key_node, f"a key of {what}")
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            raise Invalid(key_node, f"{what} has an unknown key {key!r}; known keys: {known}.")
        if key in entries:
            raise Invalid(key_node, f"{what} gives {key!r} twice.")
        entries[key] = (key_node, value_node)
    return entries


def list_field(node: Node, what: str) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, ScalarNode):  # a single value stands for a list of one
        return [node]
    raise Invalid(node, f"{what} must be a list, not {_describe(node)}.")


def _duration(node: Node, what: str) -> timedelta:
    word = text_field(node, what) if not isinstance(node, ScalarNode) else str(node.value)
    match = _DURATION.match(word.strip())
    if match is None:
        raise Invalid(node, f"{what} must be a duration such as 30m, 1h or 7d, not {word!r}.")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class Reader:
    """Builds one playbook's rules from its node tree, collecting problems."""

    def __init__(
        self, file: str, known_keys: Mapping[str, Collection[str]], languages: Collection[str]
    ) -> None:
        self.file = file
        self.known_keys = known_keys
        self.languages = set(languages)
        self.issues: list[PlaybookIssue] = []

    def problem(self, node: Node, message: str) -> None:
        self.issues.append(PlaybookIssue(self.file, line_of(node), message))

    # --- templates --------------------------------------------------------------------

    def check_key(self, node: Node, key: str) -> None:
        missing = [locale for locale, keys in self.known_keys.items() if key not in keys]
        if missing:
            raise Invalid(
                node, f"template {key!r} is not defined in locale(s) {', '.join(missing)}."
            )

    def templates(self, node: Node, rule_id: str) -> dict[str, str]:
        """One key for every locale, or a mapping locale → key covering every locale."""
        locales = list(self.known_keys)
        if isinstance(node, MappingNode):
            entries = mapping_field(node, f"the template of rule {rule_id!r}", locales)
            missing = [locale for locale in locales if locale not in entries]
            if missing:
                raise Invalid(
                    node,
                    f"the template of rule {rule_id!r} names no key for {', '.join(missing)}.",
                )
            chosen: dict[str, str] = {}
            for locale, (_key_node, value_node) in entries.items():
                key = text_field(value_node, f"the {locale} template")
                if key not in self.known_keys[locale]:
                    raise Invalid(value_node, f"template {key!r} is not defined in {locale}.")
                chosen[locale] = key
            return chosen
        key = text_field(node, f"the template of rule {rule_id!r}")
        self.check_key(node, key)
        return {locale: key for locale in locales}

    # --- parts of a rule --------------------------------------------------------------

    def audience(self, node: Node) -> Audience:
        entries = mapping_field(node, "the audience", _AUDIENCE_KEYS)

        def values(name: str) -> list[Node]:
            return list_field(entries[name][1], f"audience {name}") if name in entries else []

        languages = {text_field(n, "a language") for n in values("languages")}
        for n in values("languages"):
            if n.value not in self.languages:
                known = ", ".join(sorted(self.languages))
                raise Invalid(n, f"language {n.value!r} is unknown; use one of: {known}.")
        advisor = entries.get("has_advisor")
        return Audience(
            tiers=frozenset(_enum(n, Tier, "tier") for n in values("tiers")),
            stages=frozenset(_enum(n, Lifecycle, "lifecycle stage") for n in values("stages")),
            segments=frozenset(_enum(n, Segment, "RF segment") for n in values("segments")),
            tags=frozenset(text_field(n, "a tag") for n in values("tags")),
            languages=frozenset(languages),
            has_advisor=None if advisor is None else bool_field(advisor[1], "has_advisor"),
        )

    def cadence(self, node: Node) -> Cadence:
        if isinstance(node, ScalarNode):
            kind = _enum(node, CadenceKind, "cadence")
            if kind not in _PLAIN_CADENCES:
                raise Invalid(node, f"cadence {kind.value!r} needs a number: {{{kind}: N}}.")
            return Cadence(kind)
        names = {kind.value for kind in _COUNTED_CADENCES}
        entries = mapping_field(node, "the cadence", names)
        if len(entries) != 1:
            raise Invalid(node, "a cadence names one of monthly, every_days or every_weeks.")
        ((name, (_key, value)),) = entries.items()
        kind = CadenceKind(name)
        if kind is CadenceKind.MONTHLY:
            return Cadence(kind, _int(value, "the day of the month", 1, 31))
        if kind is CadenceKind.EVERY_WEEKS:
            return Cadence(kind, _int(value, "every_weeks", 1, 52))
        return Cadence(kind, _int(value, "every_days", 1, 3660))

    def trigger(self, node: Node) -> Trigger:
        entries = mapping_field(node, "the trigger", _TRIGGER_KEYS)
        if "event" not in entries:
            raise Invalid(node, "a trigger must name its event.")
        event = _enum(entries["event"][1], TriggerKind, "trigger event")
        after = _duration(entries["after"][1], "after") if "after" in entries else timedelta(0)
        until = _duration(entries["until"][1], "until") if "until" in entries else None
        if until is not None and until <= after:
            raise Invalid(entries["until"][1], "until must be later than after.")
        return Trigger(event, after, until)

    def coupon(self, node: Node) -> CouponSpec:
        entries = mapping_field(node, "the coupon", _COUPON_KEYS)
        if "kind" not in entries:
            raise Invalid(node, "a coupon must name its kind: percent, fixed or free_shipping.")
        kind = _enum(entries["kind"][1], CouponKind, "coupon kind")
        value: int | None = None
        if kind is CouponKind.FREE_SHIPPING:
            if "value" in entries:
                raise Invalid(entries["value"][1], "a free-shipping coupon takes no value.")
        elif "value" not in entries:
            raise Invalid(node, f"a {kind.value} coupon needs a value.")
        elif kind is CouponKind.PERCENT:
            value = _int(entries["value"][1], "a percentage", 1, 100)
        else:
            value = _money_cents(entries["value"][1], "the amount")
            if value == 0:
                raise Invalid(entries["value"][1], "the amount must be more than 0.")
        min_spend = (
            _money_cents(entries["min_spend"][1], "min_spend") if "min_spend" in entries else 0
        )
        valid = _int(entries["valid_days"][1], "valid_days", 1) if "valid_days" in entries else 30
        self.check_key(entries["kind"][1], OFFER_PREFIX + kind.value)
        return CouponSpec(kind, value, min_spend, valid)

    def variants(self, node: Node, rule_id: str) -> tuple[Variant, ...]:
        items = list_field(node, "variants")
        if not items:
            raise Invalid(node, "variants must list at least one variant.")
        built: list[Variant] = []
        for item in items:
            entries = mapping_field(item, "a variant", _VARIANT_KEYS)
            for needed in ("when", "template"):
                if needed not in entries:
                    raise Invalid(item, f"a variant needs {needed!r}.")
            when = _enum(entries["when"][1], Condition, "condition")
            if any(v.when is when for v in built):
                raise Invalid(entries["when"][1], f"two variants are for {when.value!r}.")
            coupon = self.coupon(entries["coupon"][1]) if "coupon" in entries else None
            task = None
            if "task" in entries:
                task = _enum(entries["task"][1], TaskKind, "task")
                if task not in _VARIANT_TASKS:
                    allowed = ", ".join(t.value for t in _VARIANT_TASKS)
                    raise Invalid(
                        entries["task"][1], f"a variant's task must be one of: {allowed}."
                    )
            templates = self.templates(entries["template"][1], rule_id)
            built.append(Variant(when, templates, coupon, task))
        if built[-1].when is not Condition.DEFAULT:
            raise Invalid(items[-1], "the last variant must be `when: default`.")
        if any(v.when is Condition.DEFAULT for v in built[:-1]):
            raise Invalid(node, "only the last variant may be `when: default`.")
        return tuple(built)

    # --- a rule -----------------------------------------------------------------------

    def rule(self, node: Node, index: int) -> Rule:
        entries = mapping_field(node, f"rule {index}", _RULE_KEYS)
        if "id" not in entries:
            raise Invalid(node, f"rule {index} has no id.")
        id_node = entries["id"][1]
        rule_id = text_field(id_node, "a rule id")
        if not _RULE_ID.match(rule_id):
            raise Invalid(
                id_node,
                f"rule id {rule_id!r} must be lower-case letters, digits and dashes (at most 48).",
            )
        if "kind" not in entries:
            raise Invalid(node, f"rule {rule_id!r} must say its kind: marketing or service.")
        kind = _enum(entries["kind"][1], RuleKind, "rule kind")
        if ("cadence" in entries) == ("trigger" in entries):
            raise Invalid(node, f"rule {rule_id!r} needs either a cadence or a trigger.")
        if "variants" in entries and ("template" in entries or "coupon" in entries):
            raise Invalid(
                entries["variants"][0],
                f"rule {rule_id!r} has variants, so its template and coupon go in them.",
            )
        if "variants" not in entries and "template" not in entries:
            raise Invalid(node, f"rule {rule_id!r} needs a template (or variants).")
        audience = self.audience(entries["audience"][1]) if "audience" in entries else Audience()
        cadence = self.cadence(entries["cadence"][1]) if "cadence" in entries else None
        trigger = self.trigger(entries["trigger"][1]) if "trigger" in entries else None
        if "variants" in entries:
            variants = self.variants(entries["variants"][1], rule_id)
        else:
            coupon = self.coupon(entries["coupon"][1]) if "coupon" in entries else None
            templates = self.templates(entries["template"][1], rule_id)
            variants = (Variant(Condition.DEFAULT, templates, coupon),)
        interval = (
            _int(entries["min_interval_days"][1], "min_interval_days", 0)
            if "min_interval_days" in entries
            else 0
        )
        content = (
            _enum(entries["content"][1], Content, "content") if "content" in entries else None
        )
        action = (
            _enum(entries["action"][1], RuleAction, "action")
            if "action" in entries
            else RuleAction.MESSAGE
        )
        if action is RuleAction.ADVISOR_TASK:
            self._check_task_rule(entries, rule_id, content, variants)
        return Rule(
            id=rule_id,
            kind=kind,
            audience=audience,
            variants=variants,
            cadence=cadence,
            trigger=trigger,
            min_interval_days=interval,
            content=content,
            line=line_of(node),
            action=action,
        )

    @staticmethod
    def _check_task_rule(
        entries: Mapping[str, tuple[Node, Node]],
        rule_id: str,
        content: Content | None,
        variants: Sequence[Variant],
    ) -> None:
        """An ``advisor_task`` rule suggests a plain message a person chooses to send: no
        coupon (it would be issued without its message), no news, no second task."""
        where = entries["action"][1]
        if content is not None:
            raise Invalid(where, f"rule {rule_id!r} opens an advisor task; it cannot carry news.")
        if any(v.coupon is not None for v in variants):
            raise Invalid(
                where, f"rule {rule_id!r} opens an advisor task; it cannot issue a coupon."
            )
        if any(v.task is not None for v in variants):
            raise Invalid(
                where, f"rule {rule_id!r} opens an advisor task; its variants open none."
            )

    def playbook(self, root: Node | None) -> list[Rule]:
        if root is None:
            self.issues.append(PlaybookIssue(self.file, 1, "the file is empty; it needs rules."))
            return []
        try:
            top = mapping_field(root, "the playbook", {"rules"})
            if "rules" not in top:
                raise Invalid(root, "the playbook needs a `rules:` list.")
            items = list_field(top["rules"][1], "rules")
        except Invalid as exc:
            self.problem(exc.node, exc.message)
            return []
        rules: list[Rule] = []
        seen: dict[str, int] = {}
        for index, item in enumerate(items, start=1):
            try:
                rule = self.rule(item, index)
            except Invalid as exc:
                self.problem(exc.node, exc.message)
                continue
            if rule.id in seen:
                self.problem(item, f"rule id {rule.id!r} is already used on line {seen[rule.id]}.")
                continue
            seen[rule.id] = rule.line
            rules.append(rule)
        return rules


def parse_playbook(
    text: str,
    file: str,
    known_keys: Mapping[str, Collection[str]],
    languages: Collection[str] | None = None,
) -> Playbook:
    """The playbook in `text` (read from `file`, named in messages); raises
    :class:`PlaybookError` listing every problem. `known_keys` maps each locale to the
    template keys it defines: every template a rule names must exist in every locale."""
    reader = Reader(file, known_keys, languages if languages is not None else known_keys)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "malformed"
        raise PlaybookError(
            [PlaybookIssue(file, line, f"this is not valid YAML: {problem}.")]
        ) from None
    except yaml.YAMLError as exc:
        raise PlaybookError([PlaybookIssue(file, 1, f"this is not valid YAML: {exc}.")]) from exc
    rules = reader.playbook(root)
    if reader.issues:
        raise PlaybookError(reader.issues)
    return Playbook(tuple(rules), source=file)


def load_playbook(
    path: Path,
    known_keys: Mapping[str, Collection[str]],
    languages: Collection[str] | None = None,
) -> Playbook:
    """Reads and checks the playbook at `path`; see :func:`parse_playbook`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise PlaybookError(
            [PlaybookIssue(str(path), 1, f"cannot read the file: {reason}.")]
        ) from None
    except UnicodeDecodeError:
        raise PlaybookError([PlaybookIssue(str(path), 1, "the file is not UTF-8 text.")]) from None
    return parse_playbook(text, str(path), known_keys, languages)


def template_keys(root: Path, locales: Sequence[str]) -> dict[str, set[str]]:
    """The template keys each locale defines, as the renderer will load them."""
    from bot.app.i18n import load_message_folder

    return {locale: set(load_message_folder(root / locale / "messages")) for locale in locales}
