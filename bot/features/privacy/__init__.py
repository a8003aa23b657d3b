"""/xoadulieu: a citizen erases their personal data (every feature's eraser, `bot.kernel.privacy`)."""
from importlib import import_module

# Loaded in this order, which is the order their commands, steps and buttons register in.
MODULES = ("erase",)


def register() -> None:
    for name in MODULES:
        import_module(f"{__name__}.{name}")  # each module's decorators register its handlers
