"""Normalising what enterprises type before anything tries to understand it.

Users write Traditional and Simplified characters, full-width letters, emoji and
stray control characters. Everything downstream (retrieval, the jieba dictionary,
the spaCy matcher) sees one canonical Simplified, half-width, lower-case form.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import jieba
from opencc import OpenCC
from pypinyin import lazy_pinyin

MAX_QUESTION_CHARS = 500  # a question longer than this is cut; nobody asks a 5,000-character question

_CONVERTER = OpenCC("t2s")
_CONTROL = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202f\ufeff]")
_SPACE = re.compile(r"\s+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")
# punctuation and symbols that split a question into segments; n-grams never cross them
_SEPARATORS = re.compile(r"[^\w\u4e00-\u9fff]+", re.UNICODE)


def _changed_characters(converter: OpenCC) -> frozenset[str]:
    """The characters some rule of the converter replaces: a text with none of them converts to itself.

    A phrase rule (一目瞭然 → 一目了然) can only match where its replaced characters
    (瞭) are, so those are what count, not the phrase's unchanged ones.
    """
    changed: set[str] = set()
    for _longest, _shortest, mapping in converter.dict_cache.values():
        for key, value in mapping.items():
            first = value.split(" ")[0]  # several candidates: the converter takes the first
            if len(key) != len(first):
                changed.update(key)
            else:
                changed.update(a for a, b in zip(key, first, strict=True) if a != b)
    return frozenset(changed)


_CHANGED = _changed_characters(_CONVERTER)


def to_simplified(text: str) -> str:
    """Simplified characters; a text that is Simplified already (most are) skips the slow pure-Python converter."""
    if _CHANGED.isdisjoint(text):
        return text
    return _convert(text)


@lru_cache(maxsize=4096)
def _convert(text: str) -> str:
    return str(_CONVERTER.convert(text))


def without_control(text: str) -> str:
    """Control and zero-width characters replaced by spaces; the text is otherwise as typed."""
    return _CONTROL.sub(" ", text or "")


def normalize(text: str, max_chars: int | None = MAX_QUESTION_CHARS) -> str:
    """Canonical form of a user question: NFKC, Simplified, lower case, no control characters.

    A question is cut at ``max_chars``; a guide's own text is normalised whole (``None``).
    """
    text = without_control(text)
    text = unicodedata.normalize("NFKC", text)[: max_chars * 2 if max_chars else None]
    text = to_simplified(text).lower()
    return _SPACE.sub(" ", text).strip()[:max_chars]


def has_meaningful_text(text: str) -> bool:
    """False for empty, emoji-only or punctuation-only input."""
    return any(ch.isalnum() for ch in normalize(text))


def segments(text: str) -> list[str]:
    """Split normalised text on punctuation, symbols, emoji and spaces."""
    return [s for s in _SEPARATORS.split(text) if s]


def char_terms(text: str) -> list[str]:
    """Character unigrams and bigrams inside each segment: robust to typos and unknown words."""
    terms: list[str] = []
    for segment in segments(text):
        terms.extend(segment)
        terms.extend(segment[i : i + 2] for i in range(len(segment) - 1))
    return terms


def contains_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


# 模糊音: the confusions typed by users of southern dialects and pinyin input methods
_FUZZY_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"))
_FUZZY_FINALS = (("ing", "in"), ("eng", "en"), ("ang", "an"))


def fuzzy_syllable(syllable: str) -> str:
    for long, short in _FUZZY_INITIALS:
        if syllable.startswith(long):
            syllable = short + syllable[len(long) :]
            break
    for long, short in _FUZZY_FINALS:
        if syllable.endswith(long):
            return syllable[: -len(long)] + short
    return syllable


@lru_cache(maxsize=8192)
def _pinyin_pairs(run: str) -> tuple[str, ...]:
    """A run's pinyin pairs; cached: a question's runs are looked up several times, names once per build."""
    syllables = [fuzzy_syllable(s) for s in lazy_pinyin(run)]
    return tuple(f"p:{a}{b}" for a, b in zip(syllables, syllables[1:], strict=False))


def pinyin_terms(text: str) -> list[str]:
    """Fuzzy toneless pinyin bigrams of each run of Chinese characters: 营业执找 still sounds like 营业执照."""
    terms: list[str] = []
    for run in _CJK_RUN.findall(text):
        terms.extend(_pinyin_pairs(run))
    return terms


@lru_cache(maxsize=1)
def default_dictionary() -> jieba.Tokenizer:
    """jieba's default dictionary in a tokenizer of our own, read once per process (about a second);
    the global tokenizer is left to whoever else loads words into it."""
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer
