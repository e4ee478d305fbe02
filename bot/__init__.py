"""rapport: a Telegram customer-care and engagement bot over one framework-free core."""
