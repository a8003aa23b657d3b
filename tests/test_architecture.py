"""The layout keeps its shape: no import cycle among the project's modules (function-level and TYPE_CHECKING
imports included), found from every import statement in bot/ and knowledge/."""
from __future__ import annotations

from tools import import_cycles


def test_no_import_cycle_in_bot_and_knowledge():
    known = import_cycles.modules()
    assert len(known) > 90 and "bot.kernel.inbox" in known and "knowledge.kb" in known  # it saw the code
    assert import_cycles.cycles(import_cycles.graph(known)) == []


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import(tmp_path):
    edges = import_cycles.graph({"a": _write(tmp_path, "a.py", "import b\n"),
                                 "b": _write(tmp_path, "b.py", "def f():\n    from a import x\n"),
                                 "c": _write(tmp_path, "c.py", "import a\n")})
    assert import_cycles.cycles(edges) == [["a", "b"]]


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path
