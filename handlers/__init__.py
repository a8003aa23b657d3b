"""Channel-neutral handlers. Importing this package registers every command, button and step."""
from handlers import faq, start  # noqa: F401  (registration by import)
