"""Telegram handlers: each module parses updates, calls the domain and renders the answer."""
