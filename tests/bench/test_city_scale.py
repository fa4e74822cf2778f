"""The city-scale catalogue the benchmark generates: Anshan's counts per level over 22 regions."""

from __future__ import annotations

from collections import Counter

from bench.city_scale import CATALOGUE, LEVEL_COUNTS, REGIONS, city_catalogue
from knowledge.importers import load_records
from knowledge.regions import units


def test_counts_per_level_and_regions() -> None:
    source = load_records([CATALOGUE], catalogue=True)
    records = city_catalogue(source)

    assert Counter(r.level for r in records) == {"市": 458, "县区": 1728, "乡镇街道": 1400, "村社区": 19975}
    assert len(records) == sum(LEVEL_COUNTS.values()) == 23_561
    assert len({r.id for r in records}) == len(records)
    assert max(len(r.id) for r in records) <= 64  # the id column's width
    regions = {r.region for r in records}
    assert len(regions) == 22 and regions == {region for _, region in REGIONS}
    # every region holds only its own level, and every name is a real Guang'an name
    assert all((r.level, r.region) in REGIONS for r in records)
    assert {r.name for r in records} <= {r.name for r in source}


def test_regions_form_one_city_tree() -> None:
    levels = {"市": 1, "县区": 2, "乡镇街道": 3, "村社区": 4}
    for level, region in REGIONS:
        path = units(region)
        assert len(path) == levels[level] and path[0] == "示例市"


def test_same_seed_same_catalogue_and_a_region_repeats_names_only_past_the_list() -> None:
    source = load_records([CATALOGUE], catalogue=True)
    first, again = city_catalogue(source), city_catalogue(source)
    assert [(r.id, r.name) for r in first] == [(r.id, r.name) for r in again]
    source_repeats = len(source) - len({r.name for r in source})  # the list itself names 2 items twice
    for region, size in Counter(r.region for r in first).items():
        distinct = len({r.name for r in first if r.region == region})
        assert size - distinct <= max(0, size - len(source)) + source_repeats
