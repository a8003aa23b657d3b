"""Broadcasts: citizens' subscriptions, officers composing and confirming a broadcast, and the sender."""
from importlib import import_module

# Loaded in this order, which is the order their commands, steps and buttons register in.
MODULES = ("staff", "subscribe")


def register() -> None:
    for name in MODULES:
        import_module(f"{__name__}.{name}")  # each module's decorators register its handlers
