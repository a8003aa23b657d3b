"""Channel-neutral handlers. Importing this package registers every command, button and step."""
from handlers import faq, start  # noqa: F401  (registration by import)


def load_features() -> None:
    """Handlers that need the database layer (reports, staff commands): loaded by the running bot
    (`bot.core`), not by `ntm-bot ask`, which starts without the database layer."""
    from handlers import feedback, staff, tickets, ticketing  # noqa: F401  (registration by import)
    from handlers import broadcast_staff, subscribe  # noqa: F401  (broadcasts)
    from handlers import content_staff  # noqa: F401  (what citizens asked that the bot could not answer)
    from handlers import privacy  # noqa: F401  (/xoadulieu; imports the erasers of tickets and broadcasts)
    from handlers.results import command  # noqa: F401  (/congkhai: an officer makes a report's content public)

    ticketing.register()
