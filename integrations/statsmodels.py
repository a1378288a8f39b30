"""Placeholder until the statsmodels integration lands."""
