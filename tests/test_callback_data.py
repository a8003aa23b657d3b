"""Typed button payloads: packed with Telegram's 64-byte check, read back by the same prefix."""
from __future__ import annotations

import pytest

from bot.kernel.callbacks import CallbackPrefix, CallbackTooLong

TK = CallbackPrefix("tk")


def test_pack_and_unpack_round_trip():
    data = TK.pack("rate", 12, 5)
    assert data == "tk:rate:12:5"
    cb = TK.unpack(data)
    assert (cb.arg(0), cb.int_arg(1), cb.int_arg(2)) == ("rate", 12, 5)


def test_a_payload_over_64_bytes_is_refused_when_packed():
    TK.pack("x" * 61)  # 64 bytes with "tk:"
    with pytest.raises(CallbackTooLong):
        TK.pack("ư" * 31)  # 31 characters, 62 bytes in UTF-8


def test_a_forged_or_foreign_payload_reads_as_no_arguments():
    assert TK.unpack("faq:x").args == () and TK.unpack(None).args == ()
    with pytest.raises(ValueError):
        CallbackPrefix("a:b")
