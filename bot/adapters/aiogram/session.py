"""aiogram's HTTP session for rapport: JSON bodies, one pool sized for the bot-wide rate.

aiogram's own :class:`~aiogram.client.session.aiohttp.AiohttpSession` posts every request
as multipart form data, JSON-encoding each nested value on its own, and parses each answer
twice (``json.loads``, then the pydantic ``Response[...]`` model). At the paid broadcast rate
(1000 sends a second) that was about a third of the bot's CPU per send (docs/performance.md).
:class:`JsonSession` keeps aiogram's connector, proxy support, error checks and models and
changes only the wire format of requests without files:

- the parameters are posted as one ``application/json`` body, nested objects (a keyboard) as
  JSON objects, the way the Bot API documents it; a request carrying a file (an upload) goes
  through aiogram's own multipart path unchanged;
- a successful answer is validated straight from its text by pydantic
  (``model_validate_json``); anything else (an error answer, a body that does not parse) goes
  through aiogram's ``check_response``, which raises the exception aiogram always raised —
  the messenger's error translation (:mod:`bot.adapters.aiogram.messenger`) is unchanged;
- each method's URL is parsed once, not on every request.

Used for every request the bot makes with aiogram (polling, sends, button answers), built by
:func:`make_session`.
"""

from __future__ import annotations

from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiohttp import ClientError, ClientTimeout
from yarl import URL

from bot.adapters.http import JSON_HEADERS, json_body


class JsonSession(AiohttpSession):
    """An :class:`AiohttpSession` that posts JSON for requests without files (see the
    module docstring); `limit` is the most connections it keeps open at once."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._urls: dict[tuple[str, str], URL] = {}

    def _url(self, bot: Bot, method: TelegramMethod[Any]) -> URL:
        key = (bot.token, method.__api_method__)
        url = self._urls.get(key)
        if url is None:
            url = self._urls[key] = URL(self.api.api_url(token=bot.token, method=key[1]))
        return url

    def json_parameters(self, bot: Bot, method: TelegramMethod[Any]) -> dict[str, Any] | None:
        """The method's parameters as JSON values (None, left out, as in aiogram's form
        data); None if the request carries a file, which must go as multipart."""
        files: dict[str, Any] = {}
        parameters: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is not None and prepared != "":
                parameters[key] = prepared
        return None if files else parameters

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,
    ) -> TelegramType:
        parameters = self.json_parameters(bot, method)
        if parameters is None:  # an upload: aiogram's multipart form data
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        seconds = self.timeout if timeout is None else timeout
        try:
            async with session.post(
                self._url(bot, method),
                data=json_body(parameters),
                headers=JSON_HEADERS,
                timeout=ClientTimeout(total=seconds),
            ) as resp:
                raw = await resp.text()
        except TimeoutError as e:
            raise TelegramNetworkError(method=method, message="Request timeout error") from e
        except ClientError as e:
            raise TelegramNetworkError(method=method, message=f"{type(e).__name__}: {e}") from e
        if resp.status == 200:
            try:
                model = Response[method.__returning__]  # type: ignore[name-defined]
                answer = model.model_validate_json(raw, context={"bot": bot})
            except ValueError:  # pydantic's ValidationError: aiogram's own check says why
                pass
            else:
                if answer.ok:
                    return cast(TelegramType, answer.result)
        response = self.check_response(
            bot=bot, method=method, status_code=resp.status, content=raw
        )
        return cast(TelegramType, response.result)


def make_session(api_base: str, timeout: float, connections: int) -> JsonSession:
    """The session the adapter's ``Bot`` uses for every request: `api_base` (Telegram's or
    the emulator's), `timeout` seconds per request unless a call says otherwise (polling
    does), at most `connections` connections at once."""
    return JsonSession(
        api=TelegramAPIServer.from_base(api_base), timeout=timeout, limit=connections
    )
