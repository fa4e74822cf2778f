"""Keywords typed with one wrong character of the same sound: 才料 (材料), 收废 (收费), 网上申清 (网上申请).

A pinyin input method offers every character of a syllable, and a hurried user takes the
wrong one. The aspect keywords are matched verbatim, so such a question named no aspect
and the model's guess decided. A typed span is read as a keyword only when all of these hold:
- it sounds like the keyword (toneless pinyin, character by character) and differs from it
  in exactly one character;
- it is not a word itself (往上, 电化, 元件 stay) and jieba's segmentation of the sentence
  does not cut through it (啥政策 is not 啥证, 要签字 is not 要钱);
- jieba's unigram model finds the sentence with the keyword at least ``MIN_GAIN`` (natural
  log) more probable than as typed: "账上也没钱" stays (掌上 gains 4.3), "要啥才料" is mended
  (8.2).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

import jieba
from pypinyin import lazy_pinyin

from knowledge.text import default_dictionary

# on the tuning sets' questions the typos above it gained 5.1–14.4; below it real words (账上 4.3, 要签 4.8)
# mix with typos it misses (流成 4.3, 多就 1.0, 多少前 −1.3)
MIN_GAIN = 5.0

_HAN = re.compile(r"[\u4e00-\u9fff]+")


@lru_cache(maxsize=8192)
def _syllable(character: str) -> str:
    """A character's toneless pinyin (its most common reading); anything else stands for itself."""
    return lazy_pinyin(character)[0] if _HAN.fullmatch(character) else character


def _log_probability(tokenizer: jieba.Tokenizer, text: str) -> float:
    """The log probability of jieba's best segmentation of the text (its unigram model)."""
    route: dict[int, tuple[float, int]] = {}
    tokenizer.calc(text, tokenizer.get_DAG(text), route)
    return route[0][0]


def _boundaries(tokenizer: jieba.Tokenizer, text: str) -> set[int]:
    """Where jieba's words of the text start and end."""
    ends, position = {0}, 0
    for word in tokenizer.cut(text, HMM=False):
        position += len(word)
        ends.add(position)
    return ends


class SoundAlikes:
    """Mends text where a keyword was typed with one character of the same sound."""

    def __init__(self, keywords: Iterable[str]) -> None:
        self._by_sound: dict[tuple[str, ...], set[str]] = {}
        for word in keywords:
            if len(word) >= 2 and _HAN.fullmatch(word):
                self._by_sound.setdefault(tuple(map(_syllable, word)), set()).add(word)
        self._lengths = sorted({len(sound) for sound in self._by_sound})

    def _candidates(self, text: str) -> list[tuple[int, str]]:
        """(start, keyword) for every span that sounds like a keyword and differs in one character."""
        sounds = [_syllable(character) for character in text]
        found = []
        for length in self._lengths:
            for start in range(len(text) - length + 1):
                span = text[start : start + length]
                for word in self._by_sound.get(tuple(sounds[start : start + length]), ()):
                    if sum(typed != meant for typed, meant in zip(span, word, strict=True)) == 1:
                        found.append((start, word))
        return found

    def mend(self, text: str) -> str:
        """Normalised text with each keyword typed by sound written as meant; the longest first."""
        candidates = self._candidates(text)
        if not candidates:
            return text  # most questions: no jieba at all
        tokenizer = default_dictionary()
        boundaries = _boundaries(tokenizer, text)
        before = _log_probability(tokenizer, text)
        mended, taken = text, [False] * len(text)
        for start, word in sorted(candidates, key=lambda found: -len(found[1])):
            end = start + len(word)
            span = text[start:end]
            if any(taken[start:end]) or start not in boundaries or end not in boundaries:
                continue
            if tokenizer.FREQ.get(span):
                continue  # a word of its own: 往上, 电化
            attempt = text[:start] + word + text[end:]
            if _log_probability(tokenizer, attempt) - before >= MIN_GAIN:
                mended = mended[:start] + word + mended[end:]
                taken[start:end] = [True] * len(word)
        return mended
