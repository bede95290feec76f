"""Red flags by meaning: the real MiniLM model (pinned PyPI files) after the word rules."""

from __future__ import annotations

import shutil
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from intents import IntentMatch, Matcher
from skill import app as app_module
from skill import embedding
from skill.app import Skill
from skill.config import MatcherSettings, Settings
from skill.embedding import SentenceEmbedder
from skill.errors import ModelError

DEV = Path(__file__).parents[1] / "dev"
CALM_DEV = [
    c["text"]
    for f in sorted(DEV.glob("*.toml"))
    for c in tomllib.loads(f.read_text(encoding="utf-8"))["case"]
    if c.get("intent", "") != "emergency" and not c.get("emergency", False)
]

# Emergencies in words no rule has (checked below), each with the kind of help it needs.
PARAPHRASED = [
    ("half her face has dropped and she is drooling", "emergency"),
    ("my chest feels like an elephant is sitting on it", "emergency"),
    ("i cant get a breath in", "emergency"),
    ("im spitting up blood", "emergency"),
    ("i would rather be dead", "emergency"),
    ("he took every tablet in the house", "emergency"),
    ("the baby put some of my tablets in her mouth", "poison"),
    # nearest to "the dog gobbled my b12 gummies": who it happened to decides the help, not the example
    ("the toddler has been nibbling my b12 chews", "poison"),
    ("our dog has been at my b12 tablets", "pet"),
]


def without_semantic(skill: Skill) -> Matcher:
    return Matcher(skill.catalog, threshold=skill.settings.matcher.threshold)  # semantic: None


@pytest.mark.parametrize(("text", "kind"), PARAPHRASED)
def test_paraphrased_red_flags_are_escalated_by_meaning(skill: Skill, text: str, kind: str) -> None:
    rules_only = without_semantic(skill).understand(text)
    assert not (isinstance(rules_only, IntentMatch) and rules_only.intent == "emergency"), "a rule catches it now"
    result = skill.matcher.understand(text)
    assert isinstance(result, IntentMatch) and result.intent == "emergency", result
    assert result.frame is not None
    flag = result.frame.red_flags[0]
    assert flag.like and flag.kind == kind  # the example it resembled is shown, for a reviewer


async def test_the_answer_opens_with_emergency_services(skill: Skill) -> None:
    answer = await skill.ask("my chest feels like an elephant is sitting on it", "semantic-answer")
    assert answer.emergency and answer.text.lower().startswith("call emergency services now")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "text",
    [
        "my breathing is fine but my legs ache, is it b12",
        "i can move my legs fine, theyre just heavy and weak, can low b12 do that",
        "no trouble getting a breath in, just sore all over after my b12 shot",
        "can b12 cause a stroke",
        "my arm is throbbing after the jab",
        "do b12 tablets make you ache and could you overdose on them",
        "might that be why my husband's legs cramp",
        "couldn't he just swallow tablets instead of having the jabs",
        "my dad is on ppi tablets, could that lower his b12",
        "can cats have b12",
        "my friend's a nurse and says she sees overdoses every week, is b12 one of them",
    ],
)
def test_denied_reassured_or_hypothetical_mentions_raise_no_alarm(skill: Skill, text: str) -> None:
    result = skill.matcher.understand(text)
    assert not (isinstance(result, IntentMatch) and result.intent == "emergency"), result


def test_no_calm_development_question_raises_an_alarm_by_meaning(skill: Skill) -> None:
    assert len(CALM_DEV) > 700
    alarmed = []
    for text in CALM_DEV:
        result = skill.matcher.understand(text)
        if result.frame is not None and any(f.like for f in result.frame.red_flags):
            alarmed.append(text)
    assert alarmed == []


def test_clauses_drop_denials_reassurance_and_cause_questions(skill: Skill) -> None:
    semantic = skill.matcher.semantic
    assert semantic is not None
    clauses = semantic.clauses("No chest pain, my breathing is fine, but my face has dropped and can B-12 cause that?")
    assert clauses == ["my face has dropped"]


def test_embeddings_are_unit_vectors_and_similar_meanings_are_close() -> None:
    vectors = SentenceEmbedder().embed(["my chest hurts", "i have pain in my chest", "what is the weather today"])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > 0.7 > 0.2 > vectors[0] @ vectors[2]
    assert SentenceEmbedder().embed([]).shape == (0, 384)


def test_anchors_are_cached_by_their_data_and_an_unwritable_cache_only_costs_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedding, "_MEMO", {})
    embedder = SentenceEmbedder()
    made: list[int] = []

    def make() -> list[tuple[str, str]]:
        made.append(1)
        return [("my legs ache", "calm"), ("my chest hurts", "emergency")]

    anchors, first = embedder.cached_anchors("data v1", tmp_path, make)
    assert anchors == make()[:] and len(made) == 2 and first.shape == (2, 384)
    made.clear()
    assert embedder.cached_anchors("data v1", tmp_path / "elsewhere", make)[1] is first  # one copy per process
    embedding._MEMO.clear()
    again, vectors = embedder.cached_anchors("data v1", tmp_path, make)  # a new process: read from disk
    assert made == [] and again == anchors and np.allclose(vectors, first)
    embedding._MEMO.clear()
    embedder.cached_anchors("data v2", tmp_path, make)  # other data, other key: made again
    assert made == [1]
    embedding._MEMO.clear()
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert np.allclose(embedder.cached_anchors("data v1", blocked, make)[1], first)


def _fake_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes) -> tuple[str, str, str, int]:
    package = tmp_path / "fake_minilm"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "model.onnx").write_bytes(data)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("fake_minilm", None)
    return ("fake_minilm", "model.onnx", embedding.MODEL[2], embedding.MODEL[3])


def test_an_altered_model_file_is_refused_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = embedding._packaged(*embedding.MODEL)
    copy = bytearray(real.read_bytes())
    copy[1000] ^= 0xFF
    pins = _fake_package(tmp_path, monkeypatch, bytes(copy))
    with pytest.raises(ModelError, match=r"model\.onnx does not match its pinned sha256"):
        embedding._packaged(*pins)
    (tmp_path / "fake_minilm" / "model.onnx").write_bytes(bytes(copy[:1000]))  # truncated
    with pytest.raises(ModelError, match="pinned sha256"):
        embedding._packaged(*pins)
    shutil.rmtree(tmp_path / "fake_minilm")
    (tmp_path / "fake_minilm").mkdir()
    (tmp_path / "fake_minilm" / "__init__.py").write_text("")
    with pytest.raises(ModelError, match=r"model\.onnx is missing"):
        embedding._packaged(*pins)


def test_without_the_model_the_skill_runs_on_its_rules_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedding, "MODEL", ("no_such_minilm_package", "model.onnx", "0" * 64, 1))
    app_module._embedder.cache_clear()
    try:
        skill = Skill(Settings())
        assert skill.matcher.semantic is None
        assert "no_such_minilm_package" in skill.semantic_note and skill.semantic_note.startswith("off")
        result = skill.matcher.understand("i have crushing chest pain")  # the rules still hold
        assert isinstance(result, IntentMatch) and result.intent == "emergency"
    finally:
        app_module._embedder.cache_clear()


def test_config_can_turn_it_off() -> None:
    skill = Skill(Settings(matcher=MatcherSettings(semantic_red_flags=False)))
    assert skill.matcher.semantic is None and skill.semantic_note == "off in config.toml"


def test_the_thread_count_changes_speed_not_meaning() -> None:
    texts = ["my face has dropped on one side", "can b twelve make me ache"]
    one, two = SentenceEmbedder(threads=1).embed(texts), SentenceEmbedder(threads=2).embed(texts)
    assert np.allclose(one, two, atol=1e-4)
    with pytest.raises(ValidationError, match="semantic_threads"):
        Settings.model_validate({"matcher": {"semantic_threads": 0}})
