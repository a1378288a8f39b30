"""Placeholder until the lightning integration lands."""
