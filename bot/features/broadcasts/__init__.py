"""Broadcasts: citizens' subscriptions, officers composing and confirming a broadcast, and the sender."""


def register() -> None:
    from bot.features.broadcasts import staff  # noqa: F401  (each module's decorators register its handlers)
    from bot.features.broadcasts import subscribe  # noqa: F401
