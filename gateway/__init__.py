"""The aiohttp gateway in front of Rasa: chat channels, hand-off, the butler console and its JSON API."""
