"""Exact mentions of item names, aliases and departments, found with spaCy.

A blank ``zh`` pipeline with an EntityRuler over every name and alias in the
knowledge base: when a question contains "排污许可证" verbatim, retrieval should
not have to guess. The pipeline segments by character rather than with jieba:
jieba's dictionary is process-global and the Rasa tokenizer shares it, so adding
thousands of item names to it would change how the NLU model tokenises. Character
tokens also make every phrase pattern align with the text it occurs in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import spacy
from spacy.language import Language

ITEM = "ITEM"
DEPARTMENT = "DEPT"
MIN_MENTION_CHARS = 2


@dataclass(frozen=True)
class Mention:
    label: str  # ITEM or DEPT
    key: str  # guide id for ITEM, department name for DEPT
    text: str
    start: int
    end: int


def build_matcher(
    items: Iterable[tuple[str, Iterable[str]]], departments: Iterable[tuple[str, Iterable[str]]]
) -> Language:
    """A pipeline whose entities are the item and department mentions of a text.

    ``items`` pairs a guide id with its surface forms; ``departments`` pairs a
    department name with its short forms.
    """
    nlp = spacy.blank("zh")  # character segmenter
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "LOWER", "overwrite_ents": True})
    patterns: list[dict[str, str]] = []
    for guide_id, forms in items:
        patterns.extend(
            {"label": ITEM, "pattern": form, "id": guide_id}
            for form in set(forms)
            if len(form) >= MIN_MENTION_CHARS
        )
    for department, forms in departments:
        patterns.extend(
            {"label": DEPARTMENT, "pattern": form, "id": department}
            for form in set(forms)
            if len(form) >= MIN_MENTION_CHARS
        )
    with nlp.select_pipes(enable=[]):
        ruler.add_patterns(patterns)  # type: ignore[attr-defined]
    return nlp


def find_mentions(nlp: Language, text: str) -> list[Mention]:
    """Longest, non-overlapping mentions in normalised text."""
    doc = nlp(text)
    return [Mention(ent.label_, ent.ent_id_, ent.text, ent.start_char, ent.end_char) for ent in doc.ents]
