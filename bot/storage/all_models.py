"""Import every table module so `SQLModel.metadata` knows the whole schema (used by migrations and tests)."""
from sqlmodel import SQLModel

from bot import jobs  # noqa: F401
from bot.storage import broadcast  # noqa: F401
from bot.storage import models  # noqa: F401
from bot.storage import tickets  # noqa: F401
from bot.storage import zalo  # noqa: F401
from bot.channels.web import models as web_models  # noqa: F401  (the web chat's uploads)

metadata = SQLModel.metadata
