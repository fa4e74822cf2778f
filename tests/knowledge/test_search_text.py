"""Normalisation on the search path: the fast path for Simplified text must convert exactly as OpenCC does."""

from __future__ import annotations

import json
from pathlib import Path

from opencc import OpenCC

from knowledge.text import to_simplified

CATALOGUE = (
    Path(__file__).resolve().parents[2]
    / "knowledge"
    / "catalogues"
    / "guangan"
    / "guang_an_items.derived.json"
)


def test_simplified_text_skips_the_converter_and_traditional_text_is_still_converted() -> None:
    converter = OpenCC("t2s")
    names = [entry["name"] for entry in json.loads(CATALOGUE.read_text(encoding="utf-8"))]
    traditional = [
        "辦理營業執照",
        "公司去年忘記報年報，被列入經營異常名錄了",
        "一目瞭然",
        "乾乾淨淨",
        "請問開餐廳",
    ]
    for text in [*names, *traditional, *(converter.convert(t) for t in traditional)]:
        assert to_simplified(text) == converter.convert(text), text
    assert to_simplified("辦理營業執照") == "办理营业执照"
