"""Placeholder until the keras integration lands."""
