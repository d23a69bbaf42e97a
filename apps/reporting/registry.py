"""Filled in by the app."""


def register() -> None:
    """Registers inbox providers, beat schedules and hooks of the reporting app."""
