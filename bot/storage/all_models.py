"""Import every table module so `SQLModel.metadata` knows the whole schema (used by migrations and tests)."""
from sqlmodel import SQLModel

from bot.kernel import jobs  # noqa: F401
from bot.storage import (
    broadcast,  # noqa: F401
    console,  # noqa: F401
    models,  # noqa: F401
    tickets,  # noqa: F401
    web,  # noqa: F401  (the web chat's uploads)
    zalo,  # noqa: F401
)

metadata = SQLModel.metadata
