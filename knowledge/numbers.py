"""Numbers as Vietnamese readers write them: "." between thousands, "," before decimals (1.234,5; 96,3%).

In the lowest layer so that everything people read can use it: bot replies, staff commands, the operator's
command line (`ntm-bot kb quality`).
"""
from __future__ import annotations


def vn_number(x: float, decimals: int = 0) -> str:
    """1234 -> "1.234"; vn_number(3, 1) -> "3,0"; vn_number(96.3333, 1) -> "96,3"."""
    s = f"{x:,.{decimals}f}"
    return s.replace(",", "\0").replace(".", ",").replace("\0", ".")


def vn_percent(part: float, whole: float, decimals: int = 1) -> str:
    """Part of whole as a percentage: vn_percent(1, 3) -> "33,3%" (whole 0 -> "0%")."""
    return (vn_number(100 * part / whole, decimals) if whole else "0") + "%"
