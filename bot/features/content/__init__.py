"""Content work for officers: what citizens asked that the bot could not answer."""
from importlib import import_module

# Loaded in this order, which is the order their commands, steps and buttons register in.
MODULES = ("staff",)


def register() -> None:
    for name in MODULES:
        import_module(f"{__name__}.{name}")  # each module's decorators register its handlers
