"""Channel-neutral handlers. Importing this package registers every command, button and step."""
from bot.features.faq import answers as faq  # noqa: F401  (registration by import)
from bot.features import start


def load_features() -> None:
    """Handlers that need the database layer (reports, staff commands): loaded by the running bot
    (`bot.core`), not by `ntm-bot ask`, which starts without the database layer."""
    from bot.features.tickets import wizard as feedback  # noqa: F401  (registration by import)
    from bot.features.tickets import staff
    from bot.features.tickets import citizen as tickets
    from bot.features.tickets import service as ticketing
    from bot.features.broadcasts import staff as broadcast_staff  # noqa: F401  (broadcasts)
    from bot.features.broadcasts import subscribe
    from bot.features.content import staff as content_staff  # noqa: F401  (what citizens asked that the bot could not answer)
    from bot.features.privacy import erase as privacy  # noqa: F401  (/xoadulieu; imports the erasers of tickets and broadcasts)

    ticketing.register()
