"""YAML content files (entries, lexicon, slogans, templates): libyaml's C parser when PyYAML has it (about ten times
faster, which a one-shot `ntm-bot ask` feels), else PyYAML's own; both safe loaders."""
from __future__ import annotations

from typing import Any

import yaml

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    return yaml.load(text, Loader=SafeLoader)
