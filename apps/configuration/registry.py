"""Filled in by the app."""


def register() -> None:
    """Registers gates, effects, inbox providers, beat schedules and seed hooks of the app."""
