"""/xoadulieu: a citizen erases their personal data (every feature's eraser, `bot.kernel.privacy`)."""


def register() -> None:
    from bot.features.privacy import erase  # noqa: F401  (its decorators register its handlers)
