"""Channel-neutral handlers. Importing this package registers every command, button and step."""
from handlers import broadcast_staff, faq, start, subscribe  # noqa: F401  (registration by import)
