from knowledge.text import MAX_QUESTION_CHARS, char_terms, has_meaningful_text, normalize, pinyin_terms


def test_traditional_fullwidth_and_case_become_one_form() -> None:
    assert normalize("營業執照要準備什麼資料？ＶＡＴ") == "营业执照要准备什么资料?vat"


def test_control_characters_and_extra_spaces_are_removed() -> None:
    assert normalize("排污\x00许可\u200b证  要\t多久") == "排污 许可 证 要 多久"


def test_very_long_input_is_cut() -> None:
    assert len(normalize("办" * 5000)) == MAX_QUESTION_CHARS


def test_emoji_and_punctuation_only_is_not_a_question() -> None:
    assert not has_meaningful_text("😂😂？？！！")
    assert not has_meaningful_text("   ")
    assert has_meaningful_text("刻章😂")


def test_ngrams_do_not_cross_punctuation() -> None:
    assert "章多" not in char_terms("刻章，多少钱")
    assert "刻章" in char_terms("刻章，多少钱")


def test_homophone_typos_share_pinyin_terms() -> None:
    assert set(pinyin_terms("营业执找")) & set(pinyin_terms("营业执照")) >= {"p:zizao"}
    # 模糊音: jin / jing are the same for pinyin-input typos
    assert set(pinyin_terms("公积经")) == set(pinyin_terms("公积金"))
