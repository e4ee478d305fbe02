from __future__ import annotations

import pytest

from bot.core.locale import locale_from_language_code, resolve_locale

SUPPORTED = ("en", "zh-Hans", "zh-Hant")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("zh-TW", "zh-Hant"),
        ("zh-hk", "zh-Hant"),
        ("zh_MO", "zh-Hant"),
        ("zh-hant", "zh-Hant"),
        ("zh-Hant-TW", "zh-Hant"),
        ("zh", "zh-Hans"),
        ("zh-CN", "zh-Hans"),
        ("zh-SG", "zh-Hans"),
        ("zh-hans", "zh-Hans"),
        ("en", "en"),
        ("en-GB", "en"),
        ("de", None),
        ("", None),
        (None, None),
    ],
)
def test_telegram_language_code_maps_to_locale(code: str | None, expected: str | None) -> None:
    assert locale_from_language_code(code, SUPPORTED) == expected


def test_choice_outranks_telegram_which_outranks_default() -> None:
    assert resolve_locale("zh-Hant", "en", "en", SUPPORTED) == "zh-Hant"
    assert resolve_locale(None, "zh-TW", "en", SUPPORTED) == "zh-Hant"
    assert resolve_locale(None, "fr", "zh-Hans", SUPPORTED) == "zh-Hans"
    assert resolve_locale("klingon", None, "en", SUPPORTED) == "en"
