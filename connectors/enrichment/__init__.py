"""Enrichment connectors: external data providers the customer intelligence agent may ask."""
