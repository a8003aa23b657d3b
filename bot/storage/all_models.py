"""Import every table module so `SQLModel.metadata` knows the whole schema (used by migrations and tests)."""
from sqlmodel import SQLModel

from bot.kernel import jobs  # noqa: F401
from bot.storage import broadcast  # noqa: F401
from bot.storage import models  # noqa: F401
from bot.storage import tickets  # noqa: F401
from bot.storage import zalo  # noqa: F401

metadata = SQLModel.metadata
