"""A city's whole catalogue: 25,000 items, most of them regional copies of the same names.

The Guang'an list is copied to 22 regions at the four levels (市, 县区, 乡镇街道,
村社区) beside the 60 demo guides, the shape of Anshan's published guides.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from knowledge.importers import load_records
from knowledge.records import GuideRecord
from knowledge.search import GuideEntry, GuideIndex, guide_text
from knowledge.synonyms import SynonymTable

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_DIR = REPO_ROOT / "knowledge" / "demo"
CATALOGUE = REPO_ROOT / "knowledge" / "catalogues" / "guangan" / "guang_an_items.derived.json"
# 22 regional copies: one city, five districts, eight towns, eight villages
REGIONS: tuple[tuple[str, str], ...] = (
    ("市", "示例市"),
    *(("县区", f"示例市第{i}区") for i in range(1, 6)),
    *(("乡镇街道", f"示例市第{i}区第{j}镇") for i in range(1, 5) for j in range(1, 3)),
    *(("村社区", f"示例市第{i}区第1镇第{j}村") for i in range(1, 5) for j in range(1, 3)),
)


def entry_of(record: GuideRecord, has_guide: bool) -> GuideEntry:
    return GuideEntry(
        id=record.id,
        name=record.name,
        aliases=record.aliases,
        department=record.department,
        has_guide=has_guide,
        bundled_items=record.bundled_items,
        level=record.level,
        region=record.region,
        text=guide_text(record) if has_guide else "",
    )


def demo_entries() -> list[GuideEntry]:
    return [entry_of(r, True) for r in load_records([DEMO_DIR])]


def city_entries(regions: Sequence[tuple[str, str]] = REGIONS) -> list[GuideEntry]:
    """The demo guides and the Guang'an catalogue copied to every region (about 25,000 entries)."""
    catalogue = load_records([CATALOGUE], catalogue=True)
    entries = demo_entries()
    for n, (level, region) in enumerate(regions):
        entries.extend(
            GuideEntry(
                id=f"{record.id}#{n}",
                name=record.name,
                department=record.department,
                has_guide=False,
                level=level,
                region=region,
            )
            for record in catalogue
        )
    return entries


def test_regional_copies_of_a_name_are_one_candidate_and_variants_lists_them() -> None:
    entries = city_entries()
    assert len(entries) >= 25_000
    index = GuideIndex(entries, SynonymTable.load())
    assert len(index) == len(entries)

    result = index.search("普通护照签发")
    assert result.best is not None and result.best.name == "普通护照签发"
    assert [h.name for h in result.hits].count("普通护照签发") == 1
    # the copy that stands for them all is the city's, and the margin is over another name
    assert (result.best.level, result.best.region) == ("市", "示例市")
    assert result.margin > 0.2

    variants = index.variants(result.best.guide_id)
    assert len(variants) == len(REGIONS)
    assert [(v.level, v.region) for v in variants] == list(REGIONS)
    assert all(v.name == "普通护照签发" for v in variants)
    copy = variants[7]
    assert index.entry(copy.id) == copy and index.variants(copy.id) == variants


def test_a_full_guide_still_wins_among_the_regional_copies() -> None:
    index = GuideIndex(city_entries(REGIONS[:3]), SynonymTable.load())
    best = index.search("食品经营许可证要什么材料").best
    assert best is not None and best.name == "食品经营许可证核发" and best.has_guide
    assert index.entry("no-such-item") is None and index.variants("no-such-item") == []


def test_the_representative_is_a_guide_then_the_highest_level() -> None:
    entries = [
        GuideEntry("V1", "取水许可", (), "水务站", False, level="村社区", region="一村"),
        GuideEntry("D1", "取水许可", (), "区水务局", False, level="县区", region="一区"),
        GuideEntry("D2", "取水许可", ("取水证",), "二区水务局", False, level="县区", region="二区"),
        GuideEntry("P", "排污许可证核发", (), "生态环境局", True),
    ]
    index = GuideIndex(entries, SynonymTable.from_mapping({}))
    result = index.search("取水证怎么办")  # an alias of one copy finds the name
    assert result.best is not None and result.best.guide_id == "D1"
    assert (result.best.level, result.best.region) == ("县区", "一区")
    assert {"V1", "D2"}.isdisjoint(h.guide_id for h in result.hits)
    assert [v.id for v in index.variants("V1")] == ["V1", "D1", "D2"]
