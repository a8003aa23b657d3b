"""Issue 17 item 13 (and 8): every help text comes from the command registry, and the documentation that lists
commands is checked against it, so a command cannot be missing from what officers and citizens read."""
from __future__ import annotations

import re
from pathlib import Path

from bot import composition
from bot.kernel.registry import REGISTRY
from knowledge.kb import KnowledgeBase

composition.load()  # every feature, as the running bot has them
COMMANDS = REGISTRY.commands
ROOT = Path(__file__).resolve().parent.parent
CITIZEN = {name for name, c in COMMANDS.items() if not c.staff and c.menu}
STAFF = {name for name, c in COMMANDS.items() if c.staff}


def _section(path: Path, heading: str) -> str:
    text = path.read_text(encoding="utf-8")
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start:end if end > 0 else None]


def _table_commands(section: str) -> set[str]:
    """The /commands named in the first column of a Markdown table."""
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names |= set(re.findall(r"`/([a-z_]+)", line.split(" | ")[0]))
    return names


def test_every_command_has_a_vietnamese_description():
    assert {"khauhieu", "huy", "chuatraloi", "broadcast", "broadcast_reject"} <= CITIZEN | STAFF
    missing = [name for name, c in COMMANDS.items() if not c.description]
    assert not missing, f"commands without a description (Telegram menu, /help): {missing}"


def test_staff_guide_command_table_matches_the_registry():
    listed = _table_commands(_section(ROOT / "docs" / "staff-guide.md", "## 3. Các lệnh"))
    assert listed == STAFF, (f"docs/staff-guide.md §3 lacks {sorted(STAFF - listed)}; "
                             f"lists commands that do not exist: {sorted(listed - STAFF)}")


def test_readme_citizen_table_matches_the_registry():
    listed = _table_commands(_section(ROOT / "README.md", "## Người dân dùng bot thế nào"))
    assert listed == CITIZEN, f"README lacks {sorted(CITIZEN - listed)}; extra {sorted(listed - CITIZEN)}"


def test_knowledge_base_command_list_names_every_citizen_command():
    entry = KnowledgeBase.load().entries["bot.cac-lenh"]
    named = set(re.findall(r"/([a-z_]+)", entry.answer))
    assert CITIZEN <= named, f"bot.cac-lenh does not name {sorted(CITIZEN - named)}"
