"""Reading what people type: descriptions, scores, ticket numbers."""

from __future__ import annotations

import pytest

from bot.actions.reading import describes_problem, score_in, ticket_number_in


@pytest.mark.parametrize(
    ("text", "describes"),
    [
        ("我要提诉求", False),
        ("想反映个问题", False),
        ("我要登记一个企业诉求", False),
        ("企业遇到困难想找政府帮忙", False),
        ("我们厂停电三天了没人管", True),
        ("用地指标下不来", True),
        ("政府项目欠我们工程款一直不给", True),
    ],
)
def test_a_description_is_told_apart_from_a_bare_request(text: str, describes: bool) -> None:
    assert describes_problem(text) is describes


@pytest.mark.parametrize(
    ("text", "score", "comment"),
    [
        ("满意", "满意", ""),
        ("基本满意，就是慢了点", "基本满意", "就是慢了点"),
        ("很不满意，问题没解决", "不满意", "问题没解决"),
        ("还行", "基本满意", ""),
        ("你好", None, ""),
    ],
)
def test_scores_and_comments_are_read_from_the_text(text: str, score: str | None, comment: str) -> None:
    assert score_in(text) == (score, comment)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("查一下GD202611230001", "GD202611230001"),
        ("gd 2026 1123 0001 到哪了", "GD202611230001"),
        ("我的诉求", None),
    ],
)
def test_ticket_numbers_are_found_in_the_text(text: str, number: str | None) -> None:
    assert ticket_number_in(text) == number
