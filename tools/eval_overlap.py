"""List knowledge-base paraphrases and off-topic training lines that read like an evaluation question.

    python tools/eval_overlap.py [EVAL.jsonl ...]      (default: ../shared/eval/*.jsonl)

Evaluation questions, or light edits of them, must never enter the knowledge base or its training data: the
figures would then measure memory, not understanding. Prints every pair at or above the similarity cut-off (fuzzy
ratio on folded text) for an editor to judge: a short canonical question ("ntm là gì") is close to its title by
nature; a long one with the same personal details is a copy.
"""
from __future__ import annotations

import glob
import json
import sys
from pathlib import Path

from rapidfuzz import fuzz, process

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.kb import KnowledgeBase  # noqa: E402
from knowledge.normalize import fold  # noqa: E402
from knowledge.train import NEAR_COPY as CUTOFF  # noqa: E402
from knowledge.train import off_topic_questions  # noqa: E402


def main(argv: list[str]) -> int:
    paths = argv or sorted(glob.glob(str(ROOT.parent / "shared" / "eval" / "*.jsonl")))
    kb = KnowledgeBase.load()
    ours = [(fold(q), e.id) for e in kb.entries.values() for q in e.questions]
    ours += [(fold(q), "off_topic.jsonl") for q in off_topic_questions()]
    ours = [(t, w) for t, w in ours if len(t) >= 6]
    texts = [t for t, _ in ours]
    found = 0
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            q = json.loads(line)["q"]
            for text, score, i in process.extract(fold(q), texts, scorer=fuzz.ratio, score_cutoff=CUTOFF, limit=3):
                found += 1
                print(f"{score:.0f}  {Path(path).name}: {q[:90]!r}\n    {ours[i][1]}: {text[:90]!r}")
    print(f"{found} cặp giống nhau (≥ {CUTOFF}).")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
