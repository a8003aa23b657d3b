"""Questions answered from the knowledge base: the matching decision, computed answers, small talk, the
"did you mean" choices and the topic menus."""


def register() -> None:
    from bot.features.faq import answers  # noqa: F401  (its decorators register its handlers)
