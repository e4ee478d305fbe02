"""The python-telegram-bot 22 adapter: messenger, routing of ROUTES onto handlers, the app."""
