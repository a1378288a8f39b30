"""Placeholder until the sklearn integration lands."""
