"""Exact mentions of item names, aliases and departments in a question.

When a question contains "排污许可证" verbatim, retrieval should not have to
guess. Names are matched as substrings of the normalised text, spaces skipped,
longest first and without overlaps: the spans spaCy's EntityRuler finds over
character tokens, found here without a pipeline run, whose cost grew with the
number of patterns (the ruler counts its patterns on every call). A set of every
prefix of every name lets the scan stop as soon as no name can continue, so a
question costs about its length times the length of the names it contains,
whatever the size of the catalogue. jieba is not used: its dictionary is
process-global and shared with the Rasa tokenizer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

ITEM = "ITEM"
DEPARTMENT = "DEPT"
MIN_MENTION_CHARS = 2


@dataclass(frozen=True)
class Mention:
    label: str  # ITEM or DEPT
    key: (
        str  # what the caller gave for the phrase: a guide id or surface form for ITEM, a department for DEPT
    )
    text: str
    start: int
    end: int


class MentionMatcher:
    """Every phrase to look for, with its label and key; built once per knowledge base."""

    def __init__(self) -> None:
        self._phrases: dict[str, tuple[str, str]] = {}
        self._prefixes: set[str] = set()

    def add(self, label: str, key: str, phrase: str) -> None:
        """Look for ``phrase`` (its spaces ignored); the first key given for a phrase keeps it."""
        phrase = "".join(phrase.split())
        if len(phrase) < MIN_MENTION_CHARS or phrase in self._phrases:
            return
        self._phrases[phrase] = (label, key)
        self._prefixes.update(phrase[:n] for n in range(1, len(phrase)))

    def __len__(self) -> int:
        return len(self._phrases)

    def find(self, text: str) -> list[Mention]:
        """Longest, non-overlapping mentions, in the order they occur; spaces inside a mention are skipped.

        "企业投资项目 核准" (a stop word removed between the two) still mentions 企业投资项目核准.
        """
        positions = [i for i, ch in enumerate(text) if not ch.isspace()]
        chars = "".join(text[i] for i in positions)
        found: list[tuple[int, int]] = []
        for start in range(len(chars)):
            end = start + 1
            while end <= len(chars):
                piece = chars[start:end]
                if piece in self._phrases:
                    found.append((start, end))
                if piece not in self._prefixes:
                    break
                end += 1
        found.sort(key=lambda span: (span[0] - span[1], span[0]))
        taken = [False] * len(chars)
        mentions: list[Mention] = []
        for start, end in found:
            if not any(taken[start:end]):
                taken[start:end] = [True] * (end - start)
                first, last = positions[start], positions[end - 1] + 1
                mentions.append(Mention(*self._phrases[chars[start:end]], text[first:last], first, last))
        return sorted(mentions, key=lambda m: m.start)


def build_matcher(
    items: Iterable[tuple[str, Iterable[str]]], departments: Iterable[tuple[str, Iterable[str]]]
) -> MentionMatcher:
    """A matcher for the item and department mentions of a text.

    ``items`` pairs a key (a guide id or a surface form) with its surface forms;
    ``departments`` pairs a department name with its short forms. A phrase that
    is both an item's and a department's is the item's.
    """
    matcher = MentionMatcher()
    for key, forms in items:
        for form in sorted(set(forms)):
            matcher.add(ITEM, key, form)
    for department, forms in departments:
        for form in sorted(set(forms)):
            matcher.add(DEPARTMENT, department, form)
    return matcher


def find_mentions(matcher: MentionMatcher, text: str) -> list[Mention]:
    """Longest, non-overlapping mentions in normalised text."""
    return matcher.find(text)
