"""The framework-free core: models, messages, ports and services.

Nothing here imports a Telegram framework, the database layer, the scheduler or the template
engine; those are adapters that implement the Protocols in :mod:`bot.core.ports`.
"""
