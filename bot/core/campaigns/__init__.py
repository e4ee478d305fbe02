"""Marketing campaigns (SPEC §10, issue #11): one message to an audience, once or recurring.

* :mod:`bot.core.campaigns.model` — a campaign's specification (audience, a message per
  locale, coupon, holdout share, schedule), its states and the moves between them, the
  recipient rows a run freezes, the holdout draw and the outbox key.
* :mod:`bot.core.campaigns.cron` — the next moment a cron expression names, in a time zone.
* :mod:`bot.core.campaigns.uplift` — the report: counts that add up to the audience, and the
  conversion and revenue uplift of the recipients over the holdout with confidence intervals.

The audience reuses the playbook's :class:`~bot.core.engagement.playbook.Audience` (and its
:func:`~bot.core.engagement.evaluate.in_audience`); delivery reuses the engagement guards
(:func:`~bot.core.engagement.guards.check`). The use cases are in
:mod:`bot.core.services.campaigns`. Everything here is pure.
"""
