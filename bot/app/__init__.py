"""The composition root: the one top floor of rapport.

Settings (:mod:`bot.app.settings`), logging, the content loaders (templates, FAQ, triage lists
from ``scripts_i18n``), :mod:`bot.app.bootstrap` (builds the core's policies and Deps),
:mod:`bot.app.runner` (builds the adapter and scheduler and starts them), the ``rapport``
command line (:mod:`bot.app.cli`), the scheduled jobs (:mod:`bot.app.jobs`) and the demo.
Only this package imports ``storage``, ``scheduler`` and ``sandbox``; nothing imports it.
"""
