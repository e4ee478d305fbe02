"""The Bot API method and type catalogue, loaded from ``botapi_spec.json``.

``botapi_spec.json`` is a trimmed copy (names, types, required flags) of the MIT-licensed
https://github.com/PaulSonOfLars/telegram-bot-api-spec ``api.json`` for Bot API 10.1. To refresh
it, keep ``[name, types, required]`` triples per method and per type field, plus ``subtypes``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cache
from importlib import resources

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Field:
    """One parameter of a method or field of a type, e.g. ``chat_id: Integer or String``."""

    name: str
    types: tuple[str, ...]
    required: bool


@dataclass(frozen=True)
class ApiSpec:
    """Methods (``sendMessage`` → fields) and types (``Message`` → fields / subtypes)."""

    version: str
    methods: dict[str, dict[str, Field]]
    types: dict[str, dict[str, Field]]
    subtypes: dict[str, tuple[str, ...]]
    lower_names: dict[str, str]

    def canonical_method(self, name: str) -> str | None:
        """The spec's spelling of ``name`` (Telegram matches method names case-insensitively)."""
        return self.lower_names.get(name.lower())


def _fields(rows: list[list[object]]) -> dict[str, Field]:
    out: dict[str, Field] = {}
    for name, types, required in rows:
        assert isinstance(name, str) and isinstance(types, list)
        out[name] = Field(name, tuple(str(t) for t in types), bool(required))
    return out


@cache
def load_spec() -> ApiSpec:
    """Load and cache the bundled spec (about 120 kB of JSON, parsed once per process)."""
    raw = resources.files(__package__).joinpath("botapi_spec.json").read_text("utf-8")
    data = json.loads(raw)
    methods = {name: _fields(rows) for name, rows in data["methods"].items()}
    types = {name: _fields(body["fields"]) for name, body in data["types"].items()}
    subtypes = {
        name: tuple(body["subtypes"]) for name, body in data["types"].items() if body["subtypes"]
    }
    logger.debug("loaded %s: %d methods, %d types", data["version"], len(methods), len(types))
    lower = {name.lower(): name for name in methods}
    return ApiSpec(data["version"], methods, types, subtypes, lower)
