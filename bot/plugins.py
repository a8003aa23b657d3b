"""Feature modules that add CLI subcommands or outbox hooks register themselves on import here."""
