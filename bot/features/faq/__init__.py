"""Questions answered from the knowledge base: the matching decision, computed answers, small talk, the
"did you mean" choices and the topic menus."""
from importlib import import_module

# Loaded in this order, which is the order their commands, steps and buttons register in.
MODULES = ("answers",)


def register() -> None:
    for name in MODULES:
        import_module(f"{__name__}.{name}")  # each module's decorators register its handlers
