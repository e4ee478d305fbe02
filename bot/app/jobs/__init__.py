"""Scheduled jobs: thin entry points the scheduler calls by "module:function" name.

Each job receives the running bot's :class:`~bot.core.dispatch.Dispatcher` (its ``deps`` and
its ``delivery``, so scheduled messages share the bot's pacing) plus plain ids, calls one core
service, and delivers what the service says to send. Jobs are idempotent: the services claim
each piece of work with a conditional update.
"""
