"""Feature modules that add CLI subcommands or outbox hooks register themselves on import here."""
from bot.channels import zalo_cli  # noqa: F401  (ntm-bot zalo …; the Zalo outbox hook comes with the adapters)
