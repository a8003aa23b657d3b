"""The public results page ("dân kiểm tra, dân giám sát"): what happened to the reports citizens sent.

    figures.py  the figures of a period, computed once for both `/stats` (officers) and `GET /congkhai`
    page.py     the page: server-rendered HTML and SVG charts, no JavaScript, no third-party requests
    command.py  `/congkhai MÃ` (and `/congkhai MÃ tắt`): an officer decides a report's content may be shown
"""
from importlib import import_module

# Loaded in this order, which is the order their commands register in (the page's routes: bot.server).
MODULES = ("command",)


def register() -> None:
    for name in MODULES:
        import_module(f"{__name__}.{name}")  # its decorator registers /congkhai
