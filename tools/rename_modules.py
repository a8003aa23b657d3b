"""The module moves of issue 15 (kernel / storage / channels / features), as an import rewriter.

    python tools/rename_modules.py [FILE_OR_DIR ...]     rewrite imports in place (default: bot knowledge tests bench tools)

A branch written against the old layout (bot/core.py, handlers/…) can run it after merging to get its imports
onto the new paths; git's rename detection carries its edits of the moved files themselves.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MOVES: dict[str, str] = {
    # kernel: what every feature and channel stands on; imports no feature and no platform library
    "bot.core": "bot.kernel.inbox",
    "bot.pipeline": "bot.kernel.pipeline",
    "bot.outbox": "bot.kernel.outbox",
    "bot.messages": "bot.kernel.messages",
    "bot.flood": "bot.kernel.flood",
    "bot.jobs": "bot.kernel.jobs",
    "bot.privacy": "bot.kernel.privacy",
    "bot.liveness": "bot.kernel.liveness",
    "bot.metrics": "bot.kernel.metrics",
    "bot.logs": "bot.kernel.logs",
    "bot.channels.base": "bot.kernel.channel",
    "handlers.base": "bot.kernel.registry",
    "handlers.router": "bot.kernel.router",
    "handlers.callbacks": "bot.kernel.callbacks",
    "handlers.texts": "bot.kernel.texts",
    # storage
    "bot.migrations": "bot.storage.migrations",
    # channels
    "bot.mailer": "bot.channels.email",
    "bot.zalo_cli": "bot.channels.zalo_cli",
    "handlers.texts_zalo": "bot.channels.zalo_texts",
    # features
    "handlers": "bot.features",
    "handlers.start": "bot.features.start",
    "handlers.faq": "bot.features.faq.answers",
    "handlers.feedback": "bot.features.tickets.wizard",
    "handlers.tickets": "bot.features.tickets.citizen",
    "handlers.staff": "bot.features.tickets.staff",
    "handlers.ticketing": "bot.features.tickets.service",
    "handlers.texts_tickets": "bot.features.tickets.texts",
    "bot.broadcast": "bot.features.broadcasts.service",
    "bot.broadcast_worker": "bot.features.broadcasts.worker",
    "handlers.subscribe": "bot.features.broadcasts.subscribe",
    "handlers.broadcast_staff": "bot.features.broadcasts.staff",
    "handlers.texts_broadcast": "bot.features.broadcasts.texts",
    "handlers.privacy": "bot.features.privacy.erase",
    "bot.retention": "bot.kernel.retention",
    "handlers.content_staff": "bot.features.content.staff",
    "bot.unanswered": "bot.features.content.unanswered",
    "handlers.results": "bot.features.results",
}

_FROM = re.compile(r"^(?P<indent>\s*)from (?P<mod>[\w.]+) import (?P<names>[^()#\n]+?)(?P<tail>\s*(#.*)?)$")
_FROM_PAREN = re.compile(r"^(?P<indent>\s*)from (?P<mod>[\w.]+) import \(")
_IMPORT = re.compile(r"^(?P<indent>\s*)import (?P<mod>[\w.]+)(?P<tail>\s*(#.*)?)$")


def new_name(mod: str) -> str:
    """The module's new dotted name (a submodule of a moved package moves with it)."""
    best = max((old for old in MOVES if mod == old or mod.startswith(old + ".")), key=len, default=None)
    return mod if best is None else MOVES[best] + mod[len(best):]


def _split(target: str) -> tuple[str, str]:
    pkg, _, leaf = target.rpartition(".")
    return pkg, leaf


def rewrite_line(line: str) -> str:
    m = _FROM.match(line)
    if m:
        indent, mod, tail = m["indent"], m["mod"], m["tail"] or ""
        kept: list[str] = []
        out: list[str] = []
        for part in (p.strip() for p in m["names"].split(",")):
            name, _, alias = (s.strip() for s in part.partition(" as "))
            sub = f"{mod}.{name}"
            if sub in MOVES:  # a moved module imported from its package
                pkg, leaf = _split(new_name(sub))
                as_ = alias or (name if leaf != name else "")
                out.append(f"{indent}from {pkg} import {leaf}" + (f" as {as_}" if as_ else ""))
            else:
                kept.append(part)
        if kept:
            out.insert(0, f"{indent}from {new_name(mod)} import {', '.join(kept)}")
        if out:
            out[0] += tail
        return "\n".join(out)
    m = _FROM_PAREN.match(line)
    if m:
        return line.replace(f"from {m['mod']} import", f"from {new_name(m['mod'])} import", 1)
    m = _IMPORT.match(line)
    if m and new_name(m["mod"]) != m["mod"]:
        return f"{m['indent']}import {new_name(m['mod'])}{m['tail'] or ''}"
    return line


def rewrite(text: str) -> str:
    return "\n".join(rewrite_line(line) for line in text.split("\n"))


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or [ROOT / d for d in ("bot", "knowledge", "tests", "bench", "tools")]
    for path in paths:
        for f in ([path] if path.is_file() else sorted(path.rglob("*.py"))):
            if ".venv" in f.parts or f.name == "rename_modules.py":
                continue
            old = f.read_text(encoding="utf-8")
            new = rewrite(old)
            if new != old:
                f.write_text(new, encoding="utf-8")
                print(f"rewrote {f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
