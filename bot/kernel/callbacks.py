"""Button payloads ("callback data"), parsed in one place.

Callback data comes from the platform and can be forged: "faq" without a colon, "tk:rate:x:9", 64 bytes of
anything. `CallbackData.parse` never raises; handlers read arguments by position and get "" (or None for a
number) when one is missing, so a forged button cannot raise inside a handler (which, on the group-commit
path, would roll back every update of the batch).

    faq:ntm.la-gi        prefix "faq", args ("ntm.la-gi",)
    tk:rate:12:5         prefix "tk",  args ("rate", "12", "5")
"""
from __future__ import annotations

from dataclasses import dataclass

MAX_ID_DIGITS = 12  # database ids in buttons: longer digit strings are not ids
MAX_BYTES = 64  # Telegram's limit on callback_data (UTF-8 bytes)


class CallbackTooLong(ValueError):
    """A button's payload over MAX_BYTES: Telegram would refuse the whole message."""


@dataclass(frozen=True)
class CallbackPrefix:
    """The payloads of one handler's buttons (as aiogram's `CallbackData`): `TK.pack("rate", 12, 5)` makes
    "tk:rate:12:5" (checked against the 64-byte limit), `TK.unpack(data)` reads it back, and
    `@callback(TK)` routes every button it made to one handler."""

    prefix: str

    def __post_init__(self) -> None:
        if not self.prefix or ":" in self.prefix:
            raise ValueError(f"bad callback prefix {self.prefix!r}")

    def pack(self, *args: object) -> str:
        data = ":".join([self.prefix, *(str(a) for a in args)])
        if len(data.encode("utf-8")) > MAX_BYTES:
            raise CallbackTooLong(f"{data[:80]!r} is over {MAX_BYTES} bytes")
        return data

    def unpack(self, data: str | None) -> "CallbackData":
        """The payload parsed; one of another prefix reads as this prefix with no arguments."""
        cb = CallbackData.parse(data)
        return cb if cb.prefix == self.prefix else CallbackData(cb.raw, self.prefix, ())


@dataclass(frozen=True)
class CallbackData:
    raw: str
    prefix: str
    args: tuple[str, ...]

    @classmethod
    def parse(cls, data: str | None) -> "CallbackData":
        raw = data or ""
        prefix, *args = raw.split(":")
        return cls(raw, prefix, tuple(args))

    def arg(self, i: int, default: str = "") -> str:
        """The i-th argument after the prefix, or `default`."""
        return self.args[i] if 0 <= i < len(self.args) else default

    def int_arg(self, i: int) -> int | None:
        """The i-th argument as a database id (digits only), or None."""
        a = self.arg(i)
        return int(a) if a.isdigit() and len(a) <= MAX_ID_DIGITS else None

    def rest(self, i: int) -> str:
        """Arguments from the i-th on, joined again (values that may contain ':')."""
        return ":".join(self.args[i:])
