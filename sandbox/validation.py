"""Decoding and checking of Bot API request parameters against ``botapi_spec.json``.

Both clients send every non-string value JSON-encoded (``"true"``, ``"42"``,
``'{"inline_keyboard": [...]}'``); :func:`decode_params` turns them back into Python values
according to the declared parameter type, so a ``text`` of ``"123"`` stays a string while
``chat_id="123"`` becomes ``123``. :func:`validate_params` then answers the 400 errors Telegram
would: unknown or missing parameters, wrong types, texts, captions or callback data too long.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ApiError, bad_request
from .formatting import parse_html
from .spec import ApiSpec, Field

logger = logging.getLogger(__name__)

#: Parameters Telegram still accepts although the spec no longer lists them.
LEGACY_PARAMETERS: frozenset[str] = frozenset(
    {"reply_to_message_id", "allow_sending_without_reply", "disable_web_page_preview"}
)
_LEGACY_TYPES: dict[str, tuple[str, ...]] = {
    "reply_to_message_id": ("Integer",),
    "allow_sending_without_reply": ("Boolean",),
    "disable_web_page_preview": ("Boolean",),
}
_INT_RE = re.compile(r"-?\d+")
_SCALARS = frozenset({"Integer", "Float", "Boolean", "String", "True", "InputFile"})

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request (``photo`` or the target of ``attach://<name>``)."""

    filename: str
    content_type: str
    data: bytes

    def describe(self) -> dict[str, Any]:
        """What :class:`~sandbox.RecordedRequest` shows in place of the bytes."""
        return {"upload": self.filename, "size": len(self.data)}


RawValue = str | UploadedFile


def _field_types(spec: ApiSpec, method: str, name: str) -> tuple[str, ...] | None:
    field = spec.methods.get(method, {}).get(name)
    if field is not None:
        return field.types
    return _LEGACY_TYPES.get(name)


def _decode_generic(raw: str) -> Any:
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    return raw if isinstance(value, str) else value


def decode_value(raw: Any, types: tuple[str, ...] | None) -> Any:
    """Turn one raw form value into the Python value the client meant (see module doc)."""
    if not isinstance(raw, str):
        return raw  # a JSON request body is already typed
    if types is None:
        return _decode_generic(raw)
    if types == ("String",) or "InputFile" in types:
        return raw
    if "Integer" in types and "String" in types:
        return int(raw) if _INT_RE.fullmatch(raw.strip()) else raw
    if types == ("Boolean",) or types == ("True",):
        low = raw.strip().lower()
        if low in ("true", "1"):
            return True
        if low in ("false", "0", ""):
            return False
        return raw
    if types == ("Integer",):
        return int(raw) if _INT_RE.fullmatch(raw.strip()) else _decode_generic(raw)
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def decode_params(
    spec: ApiSpec, method: str, raw: Iterable[tuple[str, Any]]
) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Decode ``raw`` (form, query or JSON pairs) into ``(params, uploads)``.

    ``attach://<name>`` values are resolved to their file part; file parts nobody refers to
    (python-telegram-bot names them after the parameter) become parameters themselves.
    ``uploads`` maps parameter name to file for the handlers; ``params`` shows a
    :meth:`UploadedFile.describe` dict in their place.
    """
    pairs = list(raw)
    parts = {k: v for k, v in pairs if isinstance(v, UploadedFile)}
    referenced: set[str] = set()
    params: dict[str, Any] = {}
    uploads: dict[str, UploadedFile] = {}
    for key, value in pairs:
        if isinstance(value, UploadedFile):
            continue
        if isinstance(value, str) and value.startswith("attach://"):
            part = parts.get(value[len("attach://") :])
            if part is not None:
                referenced.add(value[len("attach://") :])
                uploads[key] = part
                params[key] = part.describe()
                continue
        params[key] = decode_value(value, _field_types(spec, method, key))
    for key, part in parts.items():
        if key not in referenced:
            uploads[key] = part
            params[key] = part.describe()
    return params, uploads


def _type_name(types: tuple[str, ...]) -> str:
    return " or ".join(types)


def _matches(spec: ApiSpec, value: Any, type_name: str, depth: int = 0) -> bool:
    """Loose structural check of ``value`` against one spec type name."""
    if depth > 12:
        return True
    if type_name.startswith("Array of "):
        inner = type_name[len("Array of ") :]
        return isinstance(value, list) and all(
            _matches(spec, item, inner, depth + 1) for item in value
        )
    if type_name == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_name == "Boolean":
        return isinstance(value, bool)
    if type_name == "True":
        return value is True
    if type_name == "String":
        return isinstance(value, str)
    if type_name == "InputFile":
        return isinstance(value, dict | str)
    if type_name in spec.subtypes:
        return any(_matches(spec, value, sub, depth + 1) for sub in spec.subtypes[type_name])
    fields = spec.types.get(type_name)
    if fields is None:
        return True
    if not isinstance(value, dict):
        return False
    return _object_error(spec, value, fields, depth) is None


def _object_error(
    spec: ApiSpec, value: dict[str, Any], fields: dict[str, Field], depth: int
) -> str | None:
    for field in fields.values():
        if field.name not in value:
            if field.required:
                return f'field "{field.name}" is required'
            continue
        item = value[field.name]
        if not any(_matches(spec, item, t, depth + 1) for t in field.types):
            return f'field "{field.name}" must be of type {_type_name(field.types)}'
    return None


def _describe_mismatch(spec: ApiSpec, name: str, value: Any, types: tuple[str, ...]) -> str:
    for t in types:
        fields = spec.types.get(t)
        if fields is not None and isinstance(value, dict) and t not in spec.subtypes:
            problem = _object_error(spec, value, fields, 0)
            if problem:
                return f'can\'t parse parameter "{name}": {problem}'
    return f'parameter "{name}" must be of type {_type_name(types)}'


def _callback_data(markup: Any) -> Iterable[Any]:
    if not isinstance(markup, dict):
        return
    rows = markup.get("inline_keyboard")
    if not isinstance(rows, list):
        return
    for row in rows:
        for button in row if isinstance(row, list) else []:
            if isinstance(button, dict) and "callback_data" in button:
                yield button["callback_data"]


def validate_params(spec: ApiSpec, method: str, params: Mapping[str, Any]) -> None:
    """Raise the :class:`ApiError` Telegram would answer for ``params``, or return."""
    fields = spec.methods[method]
    for name in params:
        if name not in fields and name not in LEGACY_PARAMETERS:
            raise bad_request(f'unknown parameter "{name}"')
    for field in fields.values():
        if field.required and params.get(field.name) in (None, ""):
            if field.name == "text" and field.name in params:
                raise bad_request("message text is empty")
            raise bad_request(f'parameter "{field.name}" is required')
    for name, value in params.items():
        types = _field_types(spec, method, name)
        if types is None or value is None:
            continue
        if not any(_matches(spec, value, t) for t in types):
            raise bad_request(_describe_mismatch(spec, name, value, types))
    _check_lengths(method, params)


def _visible(value: str, params: Mapping[str, Any]) -> str:
    """What Telegram counts against a length limit: the text after entity parsing."""
    mode = params.get("parse_mode")
    if isinstance(mode, str) and mode.lower() == "html":
        return parse_html(value)[0]
    return value


def _check_lengths(method: str, params: Mapping[str, Any]) -> None:
    text = params.get("text")
    if method in ("sendMessage", "editMessageText") and isinstance(text, str):
        if len(_visible(text, params)) > MAX_TEXT:
            raise bad_request("message is too long")
        if not text.strip():
            raise bad_request("message text is empty")
    if (
        method == "answerCallbackQuery"
        and isinstance(text, str)
        and len(text) > MAX_CALLBACK_ANSWER
    ):
        raise bad_request("MESSAGE_TOO_LONG")
    caption = params.get("caption")
    if isinstance(caption, str) and len(_visible(caption, params)) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    for data in _callback_data(params.get("reply_markup")):
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")


def check_known_method(spec: ApiSpec, method: str) -> str:
    """Return the canonical method name or raise 404 ``Not Found``."""
    canonical = spec.canonical_method(method)
    if canonical is None:
        raise ApiError(404, "Not Found")
    return canonical
