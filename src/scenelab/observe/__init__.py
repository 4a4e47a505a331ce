"""Observation layer: metrics, harm and equity indices, virtual survey -> tidy tables."""
