"""Filled in by the app."""


def register() -> None:
    """Registers inbox providers, tasks and hooks of this part of the app."""
