"""``python -m storage upgrade|downgrade|ini``: migrations for operators (see
:mod:`storage.migrate`)."""

from storage.migrate import main

main()
