"""The bot's words as data: ``<locale>/`` templates, FAQ entries and triage word lists.

This package holds no code beyond this path; it exists so that ``pip install`` ships the data
with the bot (``[tool.setuptools.package-data]``) and every loader finds it in one place.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent
"""The folder holding one sub-folder per locale (``en/``, ``zh-Hans/``, ``zh-Hant/``)."""
