"""Deterministic demo data for the 13 associations, at any scale."""
