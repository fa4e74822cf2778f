"""Colloquial-to-official query expansion (开饭店 → 食品经营许可).

The table lives in ``synonyms.yaml`` so administrators can extend it; the
longest phrases are tried first and each adds the guide vocabulary it stands for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from knowledge.text import normalize

DEFAULT_SYNONYMS_PATH = Path(__file__).with_name("synonyms.yaml")
# "开个小饭馆" / "开一家餐馆" say what "开饭馆" / "开餐馆" say: drop the measure words after 开
_OPEN_A = re.compile(r"开(?:一?[个家间座])?(?:小)?")


@dataclass(frozen=True)
class SynonymTable:
    expansions: Mapping[str, str]
    pattern: re.Pattern[str] | None

    @classmethod
    def load(cls, path: Path = DEFAULT_SYNONYMS_PATH) -> SynonymTable:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        table = {normalize(str(k)): normalize(str(v)) for k, v in (raw.get("synonyms") or {}).items()}
        return cls.from_mapping(table)

    @classmethod
    def from_mapping(cls, table: Mapping[str, str]) -> SynonymTable:
        phrases = sorted((p for p in table if p), key=len, reverse=True)
        pattern = re.compile("|".join(map(re.escape, phrases))) if phrases else None
        return cls(expansions=dict(table), pattern=pattern)

    def official_words(self, text: str) -> list[str]:
        """The guide vocabulary for every colloquial phrase in the text."""
        if self.pattern is None:
            return []
        text = _OPEN_A.sub("开", text)
        return [self.expansions[m.group(0)] for m in self.pattern.finditer(text)]

    def expand(self, text: str) -> str:
        """The text followed by the official words of every colloquial phrase it contains."""
        return " ".join([text, *self.official_words(text)])
