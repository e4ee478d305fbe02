"""Reads a campaign file (YAML) for ``rapport campaign create`` into a
:class:`~bot.core.campaigns.model.CampaignSpec`, naming ``file:line: field: problem`` for each
mistake. The audience and coupon parts are read by the playbook's own reader
(:mod:`bot.app.playbook_file`), so they mean and accept exactly what a playbook rule does.

The format (docs/campaigns.md)::

    name: Spring teas
    audience:                 # one clause: the playbook's audience keys …
      tiers: [mid]
    # audience: {any: [{tiers: [high]}, {tags: [vip]}]}   # … or clauses under any / all
    consent: true             # optional: only customers who agreed (false: who did not)
    message:
      en: "Hello {name}, the spring teas are here."          # inline text
      zh-Hans: {file: spring.zh-Hans.txt, buttons: [{label: 去看看, url: "https://…"}]}
      zh-Hant: {template: campaign.spring}                    # a template key
    coupon: {kind: percent, value: 10, valid_days: 14}       # optional, as in the playbook
    holdout: 10%              # 0–50 %
    schedule: now             # or {at: "2026-12-24 10:00", timezone: Asia/Shanghai}
                              # or {cron: "0 10 * * 1", timezone: Europe/Berlin}
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from bot.app.playbook_file import (
    Invalid,
    PlaybookError,
    PlaybookIssue,
    Reader,
    bool_field,
    line_of,
    list_field,
    mapping_field,
    text_field,
)
from bot.core.campaigns.cron import CronError, parse_cron
from bot.core.campaigns.model import (
    MAX_HOLDOUT,
    CampaignAudience,
    CampaignError,
    CampaignSpec,
    Combine,
    LinkButton,
    LocaleMessage,
    Schedule,
    ScheduleKind,
    check_spec,
)

_TOP_KEYS = {"name", "audience", "consent", "message", "coupon", "holdout", "schedule"}
_MESSAGE_KEYS = {"text", "file", "template", "buttons"}
_BUTTON_KEYS = {"label", "url"}
_SCHEDULE_KEYS = {"at", "cron", "timezone"}
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*$")
FILE_LIMIT = 4000
"""Characters of a message file (Telegram shows at most 4,096)."""


class CampaignFileError(PlaybookError):
    """Every problem found in a campaign file; ``str()`` lists ``file:line: message``."""


class _CampaignReader(Reader):
    def __init__(
        self, file: str, known_keys: Mapping[str, Collection[str]], default_locale: str
    ) -> None:
        super().__init__(file, known_keys, known_keys)
        self.folder = Path(file).parent
        self.default_locale = default_locale
        self.lines: dict[str, int] = {}

    def campaign_audience(self, node: Node, consent: bool | None) -> CampaignAudience:
        if isinstance(node, MappingNode) and any(
            isinstance(k, ScalarNode) and k.value in ("any", "all") for k, _ in node.value
        ):
            entries = mapping_field(node, "the audience", {"any", "all"})
            if len(entries) != 1:
                raise Invalid(node, "audience: give either any or all, not both.")
            ((word, (_key, value)),) = entries.items()
            clauses = tuple(self.audience(c) for c in list_field(value, f"audience {word}"))
            if not clauses:
                raise Invalid(value, f"audience {word}: list at least one clause.")
            combine = Combine.ANY if word == "any" else Combine.ALL
            return CampaignAudience(clauses, combine, consent)
        return CampaignAudience((self.audience(node),), Combine.ALL, consent)

    def message(self, locale: str, node: Node) -> LocaleMessage:
        where = f"message.{locale}"
        self.lines[where] = line_of(node)
        if isinstance(node, ScalarNode):
            return LocaleMessage(text=text_field(node, where))
        entries = mapping_field(node, where, _MESSAGE_KEYS)
        given = [k for k in ("text", "file", "template") if k in entries]
        if len(given) != 1:
            raise Invalid(node, f"{where}: give exactly one of text, file and template.")
        buttons = []
        if "buttons" in entries:
            for n, item in enumerate(list_field(entries["buttons"][1], f"{where}.buttons"), 1):
                parts = mapping_field(item, f"{where}.buttons[{n}]", _BUTTON_KEYS)
                if set(parts) != _BUTTON_KEYS:
                    raise Invalid(item, f"{where}.buttons[{n}]: needs a label and a url.")
                label = text_field(parts["label"][1], f"{where}.buttons[{n}].label")
                url = text_field(parts["url"][1], f"{where}.buttons[{n}].url")
                if not url.startswith(("https://", "http://")):
                    raise Invalid(
                        parts["url"][1], f"{where}.buttons[{n}].url: not an http(s) address."
                    )
                buttons.append(LinkButton(label, url))
        kind, (_k, value) = given[0], entries[given[0]]
        if kind == "template":
            key = text_field(value, f"{where}.template")
            if key not in self.known_keys.get(locale, ()):
                raise Invalid(value, f"{where}.template: {key!r} is not defined in {locale}.")
            return LocaleMessage(template=key, buttons=tuple(buttons))
        if kind == "file":
            return LocaleMessage(text=self.read_file(value, where), buttons=tuple(buttons))
        return LocaleMessage(text=text_field(value, f"{where}.text"), buttons=tuple(buttons))

    def read_file(self, node: Node, where: str) -> str:
        path = self.folder / text_field(node, f"{where}.file")
        try:
            text = path.read_text(encoding="utf-8-sig").strip()
        except OSError as exc:
            raise Invalid(
                node, f"{where}.file: cannot read {path} ({exc.strerror or exc})."
            ) from None
        except UnicodeDecodeError:
            raise Invalid(node, f"{where}.file: {path} is not UTF-8 text.") from None
        if not text or len(text) > FILE_LIMIT or "\x00" in text:
            raise Invalid(
                node, f"{where}.file: {path} must hold 1 to {FILE_LIMIT} characters of text."
            )
        return text

    def holdout(self, node: Node) -> float:
        value = str(node.value) if isinstance(node, ScalarNode) else ""
        match = _PERCENT.match(value)
        share = float(match.group(1)) / 100 if match else -1.0
        if not 0 <= share <= MAX_HOLDOUT:
            raise Invalid(node, f"holdout: a share from 0% to {MAX_HOLDOUT:.0%}, not {value!r}.")
        return share

    def schedule(self, node: Node) -> Schedule:
        if isinstance(node, ScalarNode):
            if node.value != "now":
                raise Invalid(
                    node, "schedule: now, {at: …, timezone: …} or {cron: …, timezone: …}."
                )
            return Schedule()
        entries = mapping_field(node, "schedule", _SCHEDULE_KEYS)
        zone_name = (
            text_field(entries["timezone"][1], "schedule.timezone")
            if "timezone" in entries
            else "UTC"
        )
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise Invalid(
                entries["timezone"][1],
                f"schedule.timezone: {zone_name!r} is not a time zone name.",
            ) from None
        if ("at" in entries) == ("cron" in entries):
            raise Invalid(node, "schedule: give exactly one of at and cron.")
        if "cron" in entries:
            expression = text_field(entries["cron"][1], "schedule.cron")
            try:
                parse_cron(expression)
            except CronError as exc:
                raise Invalid(entries["cron"][1], f"schedule.cron: {exc}.") from None
            return Schedule(ScheduleKind.CRON, cron=expression, timezone=zone_name)
        at_node = entries["at"][1]
        try:
            local = datetime.fromisoformat(str(at_node.value).strip())
        except (ValueError, AttributeError):
            raise Invalid(
                at_node, "schedule.at: a date and time such as 2026-12-24 10:00."
            ) from None
        moment = local.replace(tzinfo=zone) if local.tzinfo is None else local
        return Schedule(ScheduleKind.AT, at=moment.astimezone(UTC), timezone=zone_name)

    def spec(self, root: Node | None) -> CampaignSpec | None:
        if root is None:
            self.issues.append(PlaybookIssue(self.file, 1, "the file is empty."))
            return None
        try:
            entries = mapping_field(root, "the campaign", _TOP_KEYS)
            for needed in ("name", "audience", "message"):
                if needed not in entries:
                    raise Invalid(root, f"{needed}: missing.")
        except Invalid as exc:
            self.problem(exc.node, exc.message)
            return None
        parts: dict[str, object] = {}

        def read(key: str, reader: object) -> None:
            if key not in entries:
                return
            node = entries[key][1]
            self.lines[key] = line_of(node)
            try:
                parts[key] = reader(node)  # type: ignore[operator]
            except Invalid as exc:
                self.problem(exc.node, exc.message)

        read("name", lambda n: text_field(n, "name"))
        read("consent", lambda n: bool_field(n, "consent"))
        read("audience", lambda n: self.campaign_audience(n, parts.get("consent")))  # type: ignore[arg-type]
        read("coupon", self.coupon)
        read("holdout", self.holdout)
        read("schedule", self.schedule)
        messages: dict[str, LocaleMessage] = {}

        def read_messages(node: Node) -> None:
            for locale, (key_node, value) in mapping_field(
                node, "message", list(self.known_keys)
            ).items():
                try:
                    messages[locale] = self.message(locale, value)
                except Invalid as exc:
                    self.problem(exc.node, exc.message)
                del key_node

        read("message", read_messages)
        if self.issues:
            return None
        spec = CampaignSpec(
            name=str(parts["name"]),
            audience=parts["audience"],  # type: ignore[arg-type]
            messages=messages,
            schedule=parts.get("schedule", Schedule()),  # type: ignore[arg-type]
            coupon=parts.get("coupon"),  # type: ignore[arg-type]
            holdout=float(parts.get("holdout", 0.0)),  # type: ignore[arg-type]
        )
        try:
            check_spec(spec, tuple(self.known_keys), self.default_locale)
        except CampaignError as exc:
            field = str(exc).split(":", 1)[0]
            prefixes = [k for k in self.lines if field.startswith(k)]
            line = self.lines[max(prefixes, key=len)] if prefixes else line_of(root)
            self.issues.append(PlaybookIssue(self.file, line, f"{exc}."))
            return None
        return spec


def parse_campaign(
    text: str, file: str, known_keys: Mapping[str, Collection[str]], default_locale: str
) -> CampaignSpec:
    """The campaign in `text` (read from `file`: message files are found next to it);
    raises :class:`CampaignFileError` listing every problem found. `known_keys` maps each
    locale to the template keys it defines."""
    reader = _CampaignReader(file, known_keys, default_locale)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = int(mark.line) + 1 if mark is not None else 1
        raise CampaignFileError(
            [PlaybookIssue(file, line, f"this is not valid YAML: {exc.problem or 'malformed'}.")]
        ) from None
    except yaml.YAMLError as exc:
        raise CampaignFileError(
            [PlaybookIssue(file, 1, f"this is not valid YAML: {exc}.")]
        ) from None
    spec = reader.spec(root)
    if reader.issues or spec is None:
        raise CampaignFileError(reader.issues)
    return spec


def load_campaign(
    path: Path, known_keys: Mapping[str, Collection[str]], default_locale: str
) -> CampaignSpec:
    """Reads and checks the campaign file at `path` (see :func:`parse_campaign`)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CampaignFileError(
            [PlaybookIssue(str(path), 1, f"cannot read the file: {exc.strerror or exc}.")]
        ) from None
    except UnicodeDecodeError:
        raise CampaignFileError(
            [PlaybookIssue(str(path), 1, "the file is not UTF-8 text.")]
        ) from None
    return parse_campaign(text, str(path), known_keys, default_locale)
