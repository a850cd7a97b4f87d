"""Delivery connectors: the edge where agents' outbox records become emails (SMTP) and text
messages (an HTTP SMS gateway), once per delivery id (connectors/delivery/service.py)."""
