"""Is a question about what the bot covers at all? A bag-of-words classifier, learned from data.

Positive: every way the knowledge base's entries are asked (its paraphrases). Negative: the off-topic corpus
(knowledge/training/off_topic.jsonl): farming practice and prices, other public services, hotels and shops
with "sao" and "điểm", other provinces, chit-chat. Words and word pairs weigh what the data says they weigh:
"khách sạn", "bảo hiểm xã hội", "căn cước" pull down, "tiêu chí", "OCOP", "đạt chuẩn" pull up. Its log-odds is one
more input of the decision (`knowledge.decision`), so a near-domain question ("khách sạn 3 sao cần mấy phòng")
is not answered from the entry that happens to share its words.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from knowledge.retrieval import terms

MIN_WEIGHT = 0.01  # weights smaller than this are not stored


def domain_terms(words: Sequence[str]) -> list[str]:
    return sorted(set(terms(words)))


@dataclass
class DomainModel:
    weights: dict[str, float] = field(default_factory=dict)
    bias: float = 0.0

    def logit(self, words: Sequence[str]) -> float:
        z = self.bias
        for t in domain_terms(words):
            z += self.weights.get(t, 0.0)
        return max(-20.0, min(20.0, z))

    def prob(self, words: Sequence[str]) -> float:
        return 1.0 / (1.0 + math.exp(-self.logit(words)))

    def to_dict(self) -> dict:
        return {"bias": self.bias, "weights": {k: round(v, 4) for k, v in sorted(self.weights.items())}}

    @classmethod
    def from_dict(cls, d: dict | None) -> "DomainModel":
        d = d or {}
        return cls(dict(d.get("weights", {})), float(d.get("bias", 0.0)))


def fit_domain(positive: Iterable[Sequence[str]], negative: Iterable[Sequence[str]], c: float = 1.0) -> DomainModel:
    """Logistic regression over syllables and syllable pairs (scikit-learn; only training needs it)."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    pos, neg = list(positive), list(negative)
    rows = [{t: 1.0 for t in domain_terms(w)} for w in pos + neg]
    y = [1] * len(pos) + [0] * len(neg)
    vec = DictVectorizer()
    X = vec.fit_transform(rows)
    # Balanced classes: the corpus sizes say nothing about how often citizens ask off-topic questions.
    lr = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    lr.fit(X, y)
    weights = {name: float(w) for name, w in zip(vec.get_feature_names_out(), lr.coef_[0]) if abs(w) >= MIN_WEIGHT}
    return DomainModel(weights, float(lr.intercept_[0]))
