"""Telegram framework adapters (aiogram, python-telegram-bot) and what they share.

Both frameworks can express an update as the Bot API's own JSON, so conversion to the core's
:class:`~bot.core.messages.Incoming` is written once here (:mod:`bot.adapters.update`), as is
the reading of Telegram's error texts (:mod:`bot.adapters.errors`). Each framework package
keeps only what is truly its own: sending, error classes, registration, the application.
"""
