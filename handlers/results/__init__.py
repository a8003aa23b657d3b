"""The public results page ("dân kiểm tra, dân giám sát"): what happened to the reports citizens sent.

    figures.py  the figures of a period, computed once for both `/stats` (officers) and `GET /congkhai`
    page.py     the page: server-rendered HTML and SVG charts, no JavaScript, no third-party requests
    command.py  `/congkhai MÃ` (and `/congkhai MÃ tắt`): an officer decides a report's content may be shown
"""
