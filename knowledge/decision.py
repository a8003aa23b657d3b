"""The calibrated decision: how likely each candidate entry is to answer the question, and what to do.

A logistic model over the candidate features (`knowledge.features`) gives each candidate a probability of
being the entry that answers the question. The bot answers when the best one is likely enough and clearly ahead
of the next, offers suggestions when it is plausible, and otherwise says it does not know (or, far from
anything it covers, that the question is outside what it covers). Weights and thresholds are learned
(`knowledge.train`), not set by hand; they are stored as plain numbers (JSON) so that the bot needs no
machine-learning library to use them, only to train them.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from knowledge.features import FEATURES

MODEL_PATH = Path(__file__).resolve().parent / "model.json"
MODEL_VERSION = 1


@dataclass
class Thresholds:
    answer: float = 0.6  # best candidate's probability needed to answer
    margin: float = 0.15  # … and how far ahead of the second it must be (unless it is above `sure`)
    sure: float = 0.85
    suggest: float = 0.2  # below this nothing is suggested
    related: float = 0.08  # below this the question is taken as off-topic (far from everything the base covers)
    hedge: float = 1.0  # between this and `answer`, one clear candidate is answered saying how it was understood
    hedge_margin: float = 0.5  # … when it is this far ahead of the second

    def kind(self, probs: Sequence[float]) -> str:
        """answer | hedged | suggest | decline | offtopic, from the candidates' probabilities (best first)."""
        p1 = probs[0] if probs else 0.0
        p2 = probs[1] if len(probs) > 1 else 0.0
        if p1 >= self.answer and (p1 - p2 >= self.margin or p1 >= self.sure):
            return "answer"
        if p1 >= self.hedge and p1 - p2 >= self.hedge_margin:
            return "hedged"
        if p1 >= self.suggest:
            return "suggest"
        return "decline" if p1 >= self.related else "offtopic"


@dataclass
class DecisionModel:
    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    thresholds: Thresholds = field(default_factory=Thresholds)
    domain: dict = field(default_factory=dict)  # knowledge.domain.DomainModel, as stored
    # Second stage: how likely the best candidate is right, from the candidates' probabilities and the best one's
    # features ({"mean", "scale", "coef", "intercept"} over `confidence_inputs`); empty: the first stage decides.
    confidence: dict = field(default_factory=dict)
    kb_hash: str = ""
    version: int = MODEL_VERSION
    report: dict = field(default_factory=dict)  # cross-validation figures of the training run

    def __post_init__(self) -> None:
        from knowledge.domain import DomainModel

        self._domain = DomainModel.from_dict(self.domain)

    def domain_logit(self, words: Sequence[str]) -> float:
        """How much a question's words look like the knowledge base's rather than off-topic (log-odds)."""
        return self._domain.logit(words) if self.domain else 0.0

    def prob(self, x: Sequence[float]) -> float:
        return _logistic(x, self.mean, self.scale, self.coef, self.intercept)

    def decision_probs(self, probs: Sequence[float], best: Sequence[float] | None) -> list[float]:
        """What the thresholds read: with a second stage, [P(the best candidate is right), 0, …] (its margin
        is already in it); otherwise the candidates' own probabilities."""
        c = self.confidence
        if not c or best is None or not probs:
            return list(probs)
        x = confidence_inputs(probs, best)
        return [_logistic(x, c["mean"], c["scale"], c["coef"], c["intercept"])] + [0.0] * (len(probs) - 1)

    # -- storage
    def to_json(self) -> str:
        d = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        return json.dumps(d, ensure_ascii=False, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "DecisionModel":
        d = json.loads(text)
        d["thresholds"] = Thresholds(**d.get("thresholds", {}))
        return cls(**d)

    @classmethod
    def load(cls, path: Path | str = MODEL_PATH) -> "DecisionModel | None":
        try:
            return cls.from_json(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def save(self, path: Path | str = MODEL_PATH) -> None:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(p.suffix + ".tmp")
        tmp.write_text(self.to_json() + "\n", encoding="utf-8")
        tmp.replace(p)


def _logistic(x: Sequence[float], mean: Sequence[float], scale: Sequence[float], coef: Sequence[float],
              intercept: float) -> float:
    z = intercept
    for xi, m, s, c in zip(x, mean, scale, coef):
        z += (xi - m) / s * c
    if z < -30:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


# q_words, q_known, q_pairs_known, the two retrievers' ranks of the best candidate (m_rank, b_rank: a candidate the
# paraphrases and the answers' words both put first is surer than one only the model's blend put first),
# place_outside (another province is named that the best entry does not speak about) and q_domain (appended after
# the features by the decision)
QUESTION_INPUTS = (*(FEATURES.index(n) for n in ("q_words", "q_known", "q_pairs_known", "m_rank", "b_rank",
                                                 "place_outside")), -1)


def confidence_inputs(probs: Sequence[float], best: Sequence[float]) -> list[float]:
    """The second stage's inputs: the three best probabilities, the margin, log-odds, how many are plausible, and
    the best candidate's own feature row."""
    p1 = probs[0]
    p2 = probs[1] if len(probs) > 1 else 0.0
    p3 = probs[2] if len(probs) > 2 else 0.0

    def logit(p: float) -> float:  # clipped: a lone candidate (p2 = 0) must not read as infinitely sure
        p = min(max(p, 0.01), 0.99)
        return math.log(p / (1 - p))

    # Of the best candidate's row, only what describes the question (length, known words and pairs, its domain
    # log-odds, another province it names) and where the two retrievers ranked it: the entry-level inputs are already in p1, and a second stage that reads
    # them again extrapolates wildly on questions unlike its training ("3").
    q = [best[i] for i in QUESTION_INPUTS]
    return [p1, p2, p3, p1 - p2, logit(p1), logit(p2), float(sum(1 for p in probs if p > 0.2)), *q]


def content_hash(texts: Iterable[str]) -> str:
    """A fingerprint of what the decision depends on (the entries' texts, the lexicon): a model trained on
    other content still works, but is retrained."""
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:16]
