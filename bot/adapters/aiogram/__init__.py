"""The aiogram 3 adapter: messenger, routing of ROUTES onto a Router, and the application."""
