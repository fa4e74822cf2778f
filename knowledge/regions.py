"""Which region's copy of an item answers an enterprise: its own office's guide, else the nearest one above.

A city's catalogue publishes the same item (by name) at four levels: the city
(市), each district or county (县区), each township or street (乡镇街道) and each
village or community (村社区). Search treats the copies as one candidate; this
module picks the copy for the asker.

The hierarchy is read from the region names themselves, so it needs no table to
maintain: a region name is a path of administrative units, each ending in its
unit word (示例市 / 城东区 / 东关街道 / 科技园社区). A copy serves an enterprise
when the copy's own unit (the last one of its path) is on the enterprise's path:
its region or one of the regions above it. The deepest such copy wins
(village → township → district); a city-level copy serves everyone in the
city, whether or not the enterprise's region names the city; when nothing fits,
the copy search chose stays (and the answer names its office).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from knowledge.search import GuideEntry
from knowledge.text import normalize

LEVEL_DEPTH = {"市": 0, "县区": 1, "乡镇街道": 2, "村社区": 3}
CITY_LEVEL = "市"
CITY_CHOICE = "市级"  # the button for the city's own office
MAX_REGION_CHOICES = 8

# one administrative unit: a name and its unit word; 街道 and 社区 before the one-character words
_UNIT = re.compile(r".+?(?:自治州|自治县|街道|社区|新区|地区|市|区|县|旗|镇|乡|村|州|盟)")


def units(region: str) -> list[str]:
    """A region name as its path of units: 示例市城东区东关街道 → [示例市, 城东区, 东关街道]."""
    text = re.sub(r"\s+", "", normalize(region))
    found = _UNIT.findall(text)
    rest = text[sum(len(u) for u in found) :]
    return [*found, rest] if rest else found


def _depth_on_path(entry: GuideEntry, path: Sequence[str]) -> int | None:
    """How deep on the enterprise's path the copy's own unit sits, or None when it is off the path."""
    own = units(entry.region)
    if not own:
        return None
    try:
        return path.index(own[-1])
    except ValueError:
        return None


@dataclass(frozen=True)
class Choice:
    """The copy to answer from, and whether the catalogue has copies for other regions too."""

    entry: GuideEntry
    regional: bool  # the answer must say whose office it is


def is_regional(variants: Sequence[GuideEntry]) -> bool:
    """True when an item is published by more than one region's office."""
    return len({normalize(v.region) for v in variants}) > 1


def pick_variant(variants: Sequence[GuideEntry], region: str | None, default: GuideEntry) -> Choice:
    """The copy for an enterprise in ``region`` (None: unknown, keep the default)."""
    regional = is_regional(variants)
    if not regional or not region:
        return Choice(default, regional)
    city = [v for v in variants if v.level == CITY_LEVEL]
    if region.strip() == CITY_CHOICE:
        return Choice(_prefer(city, default), regional)
    path = units(region)
    on_path = [(depth, v) for v in variants if (depth := _depth_on_path(v, path)) is not None]
    if on_path:
        deepest = max(depth for depth, _ in on_path)
        candidates = [v for depth, v in on_path if depth == deepest]
        # the same unit at two levels (a district and its office's village copy) is unlikely; prefer the deeper level
        return Choice(max(candidates, key=lambda v: (LEVEL_DEPTH.get(v.level, 0), v is default)), regional)
    return Choice(_prefer(city, default), regional)


def _prefer(candidates: Sequence[GuideEntry], default: GuideEntry) -> GuideEntry:
    if default in candidates or not candidates:
        return default
    return candidates[0]


@dataclass(frozen=True)
class RegionOption:
    title: str
    region: str  # what comes back in the choose_region payload


def region_options(variants: Sequence[GuideEntry], limit: int = MAX_REGION_CHOICES) -> list[RegionOption]:
    """The regions to offer an unbound asker: the districts that publish the item, and the city's office.

    Township and village copies are reached through their district: the options
    name the district above them (their path's second unit) when the district has no
    copy of its own.
    """
    districts: dict[str, str] = {}
    for v in sorted(variants, key=lambda v: (LEVEL_DEPTH.get(v.level, 0), v.region)):
        if v.level == CITY_LEVEL:
            continue
        path = units(v.region)
        if v.level == "县区" or len(path) < 2:
            unit, full = path[-1] if path else v.region, v.region
        else:
            unit = path[1] if len(path) > 2 else path[0]
            full = "".join(path[: path.index(unit) + 1])
        districts.setdefault(unit, full)
    options = [RegionOption(unit, full) for unit, full in list(districts.items())[:limit]]
    if any(v.level == CITY_LEVEL for v in variants):
        options.append(RegionOption(CITY_CHOICE, CITY_CHOICE))
    return options
