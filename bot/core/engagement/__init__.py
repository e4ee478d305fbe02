"""The engagement engine (SPEC §8): a playbook of rules that keeps in touch with customers.

* :mod:`bot.core.engagement.playbook` — the model: a :class:`Rule` has an audience, a cadence
  or a trigger, a template key per locale, an optional coupon specification and variants.
  The file format and its loader live at the composition root (:mod:`bot.app.playbook_file`).
* :mod:`bot.core.engagement.periods` — the period a cadence is in at a moment (``2026-12``,
  ``2026Q4`` …), which makes the idempotency key ``engage:<rule>:<customer>:<period>``.
* :mod:`bot.core.engagement.guards` — consent, quiet hours, the marketing cap, reachability
  and "already sent this period", as pure functions of the facts and the clock.
* :mod:`bot.core.engagement.evaluate` — who would receive what now, and why everybody else in
  a rule's audience is skipped.

Everything here is pure: no storage, no framework, no clock of its own (``now`` is an argument).
"""
