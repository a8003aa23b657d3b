"""The officers' web console (/canbo), its domain side (the page itself: bot/pages/console/).

    accounts.py  console logins: argon2id passwords, lockout, server-side sessions, communes of an officer
    access.py    which tickets an officer may see (their communes; the provincial office sees all)
    routing.py   new reports to their commune's officers, escalation to supervisors, overdue lists per commune
    cli.py       `ntm-bot staff …`: console accounts from the command line
"""
from importlib import import_module

MODULES = ("routing",)  # its jobs and the new-ticket hook; the page's routes: bot.server


def register() -> None:
    for name in MODULES:
        import_module(f"{__name__}.{name}")
