"""The aspect classifier: trained on the guide intents' examples and its own files, it re-labels a guide
question's aspect and leaves every other intent alone. Sentences written for this test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components.aspect_classifier import (
    RELABEL_KEY,
    WEIGHTS_FILE,
    AspectClassifier,
    AspectModel,
    AspectModelUnreadable,
    read_examples,
)

MATERIALS = ["需要带哪些材料", "要准备什么资料", "材料清单有哪些", "得交什么证件", "资料要带全哪些"]
FEES = ["收费吗", "要交多少钱", "费用是多少", "办这个花钱不", "收不收工本费"]
LOCATIONS = ["去哪个窗口办", "在哪里办理", "办事大厅地址在哪", "到哪个中心去交", "线下网点在什么地方"]


def _examples_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "aspect_examples"
    directory.mkdir()
    lines = "\n".join(f"    - {text}" for text in LOCATIONS)
    (directory / "taught.yml").write_text(
        f'version: "3.1"\nnlu:\n- intent: ask_location\n  examples: |\n{lines}\n- intent: greet\n  examples: |\n'
        "    - 你好\n",
        encoding="utf-8",
    )
    return directory


def _training_data() -> TrainingData:
    examples = [Message(data={"text": t, "intent": "ask_materials"}) for t in MATERIALS]
    examples += [Message(data={"text": t, "intent": "ask_fee"}) for t in FEES]
    examples += [Message(data={"text": "我们的货款被拖欠半年了", "intent": "file_appeal"})]
    return TrainingData(training_examples=examples)


@pytest.fixture
def trained(tmp_path: Path) -> tuple[LocalModelStorage, Resource, dict[str, Any]]:
    (tmp_path / "storage").mkdir()
    storage = LocalModelStorage(tmp_path / "storage")
    resource = Resource("aspect_classifier")
    config = {**AspectClassifier.get_default_config(), "examples_path": str(_examples_dir(tmp_path))}
    context = ExecutionContext(GraphSchema({}), "test")
    AspectClassifier.create(config, storage, resource, context).train(_training_data())
    return storage, resource, config


def _parse(classifier: AspectClassifier, text: str, intent: str) -> Message:
    message = Message(data={"text": text})
    message.set("intent", {"name": intent, "confidence": 0.8})
    message.set(
        "intent_ranking", [{"name": intent, "confidence": 0.8}, {"name": "ask_fee", "confidence": 0.1}]
    )
    classifier.process([message])
    return message


def _loaded(trained: tuple[LocalModelStorage, Resource, dict[str, Any]]) -> AspectClassifier:
    storage, resource, config = trained
    return AspectClassifier.load(config, storage, resource, ExecutionContext(GraphSchema({}), "test"))


def test_a_guide_question_gets_the_aspect_it_asks_for_after_loading(
    trained: tuple[LocalModelStorage, Resource, dict[str, Any]],
) -> None:
    classifier = _loaded(trained)
    message = _parse(classifier, "我们公司刚搬过来，请问这个要准备哪些资料呀", "ask_overview")
    assert message.get("intent") == {"name": "ask_materials", "confidence": 0.8}
    assert message.get("intent_ranking")[0]["name"] == "ask_materials"
    assert "ask_overview" in [entry["name"] for entry in message.get("intent_ranking")]
    assert message.get(RELABEL_KEY) == {"from": "ask_overview", "to": "ask_materials"}


def test_the_examples_directory_is_learnt_too(
    trained: tuple[LocalModelStorage, Resource, dict[str, Any]],
) -> None:
    message = _parse(_loaded(trained), "这个证在哪个窗口办理", "ask_fee")
    assert message.get("intent")["name"] == "ask_location"  # only the directory's file teaches location


def test_other_intents_and_agreeing_aspects_are_left_alone(
    trained: tuple[LocalModelStorage, Resource, dict[str, Any]],
) -> None:
    classifier = _loaded(trained)
    appeal = _parse(classifier, "要准备什么材料都交了，三个月了还不批", "file_appeal")
    assert appeal.get("intent")["name"] == "file_appeal" and appeal.get(RELABEL_KEY) is None
    fallback = _parse(classifier, "要交多少钱", "nlu_fallback")
    assert fallback.get("intent")["name"] == "nlu_fallback"
    same = _parse(classifier, "办这个要交多少钱", "ask_fee")
    assert same.get("intent")["name"] == "ask_fee" and same.get(RELABEL_KEY) is None


def test_only_ask_examples_are_read_from_the_directory(tmp_path: Path) -> None:
    assert {intent for _, intent in read_examples(_examples_dir(tmp_path))} == {"ask_location"}


def test_an_untrained_classifier_keeps_the_intent(tmp_path: Path) -> None:
    (tmp_path / "storage").mkdir()
    storage = LocalModelStorage(tmp_path / "storage")
    config = AspectClassifier.get_default_config()
    context = ExecutionContext(GraphSchema({}), "test")
    classifier = AspectClassifier.load(config, storage, Resource("never_trained"), context)
    assert _parse(classifier, "需要带哪些材料", "ask_fee").get("intent")["name"] == "ask_fee"


def test_changing_an_examples_file_changes_the_fingerprint(tmp_path: Path) -> None:
    directory = _examples_dir(tmp_path)
    config = {"examples_path": str(directory)}
    before = AspectClassifier.fingerprint_addon(config)
    (directory / "taught.yml").write_text('version: "3.1"\nnlu: []\n', encoding="utf-8")
    assert before and AspectClassifier.fingerprint_addon(config) not in (None, before)
    assert AspectClassifier.fingerprint_addon({"examples_path": None}) is None


def test_the_numpy_scores_are_sklearns_and_two_aspects_are_told_apart() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from knowledge.text import normalize

    three = [(t, "ask_materials") for t in MATERIALS] + [(t, "ask_fee") for t in FEES]
    three += [(t, "ask_location") for t in LOCATIONS]
    model = AspectModel.fit(three, c=5.0)
    texts = [normalize(t) for t, _ in three]
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True)
    reference = LogisticRegression(C=5.0, max_iter=3000).fit(
        vectorizer.fit_transform(texts), [i for _, i in three]
    )
    for question in ["办营业执照要带哪些材料材料", "去哪里交费", "工本费多少钱"]:
        expected = reference.decision_function(vectorizer.transform([normalize(question)]))[0]
        assert model.scores(question) == pytest.approx(expected)
    two = AspectModel.fit([(t, "ask_materials") for t in MATERIALS] + [(t, "ask_fee") for t in FEES], c=5.0)
    assert (two.predict("要准备哪些材料"), two.predict("要交多少钱")) == ("ask_materials", "ask_fee")


def test_a_text_with_nothing_the_model_knows_keeps_diets_aspect(
    trained: tuple[LocalModelStorage, Resource, dict[str, Any]],
) -> None:
    message = _parse(_loaded(trained), "qqq", "ask_fee")
    assert message.get("intent")["name"] == "ask_fee" and message.get(RELABEL_KEY) is None


def test_a_broken_model_is_an_error_not_an_untrained_one(
    trained: tuple[LocalModelStorage, Resource, dict[str, Any]],
) -> None:
    storage, resource, config = trained
    with storage.write_to(resource) as directory:
        (directory / WEIGHTS_FILE).write_bytes(b"not an npz file")
    with pytest.raises(AspectModelUnreadable):
        _loaded(trained)


def test_a_missing_examples_directory_is_an_error(tmp_path: Path) -> None:
    config = {**AspectClassifier.get_default_config(), "examples_path": str(tmp_path / "nowhere")}
    with pytest.raises(ValueError, match="not a directory"):
        AspectClassifier.fingerprint_addon(config)


def test_the_classifier_runs_after_the_fallback_and_the_complaint_router() -> None:
    import yaml

    config = yaml.safe_load((Path(__file__).resolve().parents[2] / "config.yml").read_text(encoding="utf-8"))
    names = [component["name"] for component in config["pipeline"]]
    last = names.index("bot.components.aspect_classifier.AspectClassifier")
    assert (
        names.index("FallbackClassifier") < last
        and names.index("bot.components.complaint_router.ComplaintRouter") < last
    )
