"""Jieba tokenisation that survives what enterprises actually type.

Rasa's JiebaTokenizer emits whitespace tokens for mixed Chinese/English text
(RasaHQ/rasa#7910) and sees 營業執照 and 营业执照 as different words. This
subclass drops blank tokens and gives the featurisers the Simplified, half-width,
lower-case form of each token, keeping the original character offsets.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

from knowledge.text import normalize


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class ChineseTokenizer(JiebaTokenizer):
    """JiebaTokenizer without whitespace tokens, over normalised token text."""

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        import jieba

        text: Any = message.get(attribute)
        tokens = [
            Token(normalize(word), start, end)
            for word, start, end in jieba.tokenize(text or "")
            if word.strip() and normalize(word)
        ]
        return self._apply_token_pattern(tokens)
