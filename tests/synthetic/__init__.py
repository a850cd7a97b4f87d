"""Synthetic test data the tests generate themselves (never downloaded)."""
