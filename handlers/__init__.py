"""Channel-neutral handlers. Importing this package registers every command, button and step."""
from handlers import faq, start  # noqa: F401  (registration by import)
from handlers import feedback, staff, tickets  # noqa: F401  (reports: citizen side, staff side)
from handlers import ticketing as _ticketing

_ticketing.register()
