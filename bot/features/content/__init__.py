"""Content work for officers: what citizens asked that the bot could not answer."""


def register() -> None:
    from bot.features.content import staff  # noqa: F401  (its decorators register its handlers)
