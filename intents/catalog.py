"""Load a locale's intent data (intents/<locale>/*.toml) into typed, validated objects."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from skill.datafiles import read_toml
from skill.errors import ConfigError

from .templates import expand

DATA_DIR = Path(__file__).parent
INTENT_FILES = ("knowledge.toml", "conversation.toml")
M = TypeVar("M", bound=BaseModel)


class Topic(BaseModel):
    """Something the fact base does not cover (its reply wording is in handlers/data/replies.toml)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    patterns: tuple[str, ...]
    asked: bool = False  # naming it is asking about it: the part that names it is not answered
    asked_when: tuple[str, ...] = ()  # or only when these match ("is it safe while pregnant")
    blocks: bool = True  # False: it adds its own sentence and the rest is answered as if unsaid


class PhraseGroup(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    set: dict[str, str] = Field(default_factory=dict)
    phrases: tuple[str, ...]


class IntentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    family: str = ""
    slots: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    group: tuple[PhraseGroup, ...] = ()

    @model_validator(mode="after")
    def _has_phrases(self) -> IntentSpec:
        if not self.phrases and not self.group:
            raise ValueError(f"intent {self.name!r} has no phrases")
        return self

    def groups(self) -> tuple[PhraseGroup, ...]:
        own = (PhraseGroup(phrases=self.phrases),) if self.phrases else ()
        return own + self.group


class Lexicon(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fillers: tuple[str, ...]
    function_words: tuple[str, ...] = ()
    prompt_terms: tuple[str, ...] = ()  # told to Whisper so it spells domain words as we do
    canonical: dict[str, tuple[str, ...]]


class SemanticSpec(BaseModel):
    """The second line for red flags: meaning, not words (intents/semantic.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: float = Field(gt=0, le=1)  # cosine to the nearest spoken red-flag example
    margin: float = Field(ge=0, le=1)  # ...and at least this much closer than to any calm sentence
    min_words: int = Field(default=3, ge=1)
    splits: tuple[str, ...] = ()  # words that end a clause (punctuation always does)
    skip: tuple[str, ...] = ()  # a clause with one of these words says all is well, or asks about causes
    story: tuple[str, ...] = ()  # after one of these in a sentence (a screen, a page), its clauses tell a story
    calm_examples: tuple[str, ...] = ()  # symptoms people report that are not emergencies


class SafetySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    red_flags: tuple[str, ...]
    poison_flags: tuple[str, ...] = ()  # a child who swallowed pills: poison control
    pet_flags: tuple[str, ...] = ()  # a pet that swallowed pills: a vet
    paired_flags: tuple[tuple[str, str], ...] = ()  # an emergency when both are said
    topics: dict[str, Topic] = Field(default_factory=dict)
    spoken_examples: tuple[str, ...] = ()  # red flags, as people say them
    spoken_refusals: tuple[str, ...] = ()  # out-of-scope questions, as people say them
    semantic: SemanticSpec | None = None

    @property
    def out_of_scope(self) -> tuple[str, ...]:
        return tuple(p for topic in self.topics.values() for p in topic.patterns)

    @property
    def all_red_flags(self) -> tuple[str, ...]:
        return (
            self.red_flags + self.poison_flags + self.pet_flags + tuple(p for pair in self.paired_flags for p in pair)
        )


class Negation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    scope_words: int = 8
    triggers: tuple[str, ...]
    post_triggers: tuple[str, ...] = ()
    pseudo: tuple[str, ...] = ()
    terminators: tuple[str, ...] = ()
    hypothetical: tuple[str, ...] = ()  # "can b12 cause a ...": asks about a condition, does not report one
    conditions: tuple[str, ...] = ()  # the conditions such a question can name
    # Red flags only: told from a screen or page, supposed, feared and ruled out, or over.
    reported: tuple[str, ...] = ()
    reported_after: tuple[str, ...] = ()
    reported_until: tuple[str, ...] = ()
    resolved: tuple[str, ...] = ()  # "...but hes fine now": an episode told as over, read past "but"
    resolved_words: int = 14
    resolved_until: tuple[str, ...] = ()  # where the story ends and the question starts


class PartSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    splits: tuple[str, ...]


class Route(BaseModel):
    """Which intent a part's ask and subject call for; the first route that fits wins."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ask: tuple[str, ...] = ()  # empty: any
    subject: tuple[str, ...] = ()  # empty: any; "none" matches a part with no subject
    both: tuple[str, ...] = ()  # subjects that must all be named (a comparison in other words)
    needs: tuple[str, ...] = ()  # slots of the intent that must be named ("reason": detox, potassium...)
    feature: tuple[str, ...] = ()  # what the part compares or asks about (frames.toml [features])
    symptoms: bool = False  # only for a part that names a symptom ("what causes them, the pins and needles")
    intent: str
    slots: dict[str, str] = Field(default_factory=dict)


class FrameSpec(BaseModel):
    """How a question is read into a frame (frames.toml): word patterns per subject, ask, symptom..."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subjects: dict[str, tuple[str, ...]]
    asks: dict[str, tuple[str, ...]]
    symptoms: dict[str, tuple[str, ...]]
    general_symptoms: tuple[str, ...] = ()  # aches anyone might mean: alone they say nothing of B12
    who: dict[str, tuple[str, ...]]
    severity: dict[str, tuple[str, ...]]
    features: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    negation: Negation
    parts: PartSpec
    routes: tuple[Route, ...] = ()


class Catalog(BaseModel):
    """Everything a locale says about what can be asked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    locale: str
    intents: tuple[IntentSpec, ...]
    slots: dict[str, dict[str, tuple[str, ...]]]
    lexicon: Lexicon
    safety: SafetySpec
    frames: FrameSpec

    @model_validator(mode="after")
    def _slots_exist(self) -> Catalog:
        names = [i.name for i in self.intents]
        if len(names) != len(set(names)):
            raise ValueError("intent names must be unique")
        for intent in self.intents:
            for slot in intent.slots:
                if slot not in self.slots:
                    raise ValueError(f"intent {intent.name!r} uses unknown slot {slot!r}")
            for group in intent.groups():
                for phrase in group.phrases:
                    for sentence in expand(phrase)[:1]:
                        for word in sentence.split():
                            if word.startswith("{") and word.strip("{}") not in intent.slots:
                                raise ValueError(f"intent {intent.name!r}: {word} is not one of its slots")
        for route in self.frames.routes:
            if route.intent not in names:
                raise ValueError(f"route for {route.ask} names unknown intent {route.intent!r}")
            unknown = set(route.ask) - self.frames.asks.keys() - {"none"}
            if unknown:
                raise ValueError(f"route for {route.intent!r} names unknown asks {sorted(unknown)}")
            unknown = set(route.subject + route.both) - self.frames.subjects.keys() - {"none", "b12"}
            if unknown:
                raise ValueError(f"route for {route.intent!r} names unknown subjects {sorted(unknown)}")
        return self

    def intent_names(self) -> list[str]:
        return [i.name for i in self.intents]

    def sentences(self, per_template: int = 60) -> list[str]:
        """Natural sentences for a speech language model: templates expanded, slots filled.

        Capped per template (an even spread over its expansions) so the corpus stays small.
        """
        out: dict[str, None] = {}
        for intent in self.intents:
            for group in intent.groups():
                for template in group.phrases:
                    expanded = expand(template)
                    step = max(1, len(expanded) // per_template)
                    for n, sentence in enumerate(expanded[::step]):
                        for filled in self._fill_slots(sentence, intent.slots, n):
                            out[filled] = None
        for values in self.slots.values():
            for words in values.values():
                out.update(dict.fromkeys(words))
        out.update(dict.fromkeys(self.safety.spoken_examples))
        out.update(dict.fromkeys(self.safety.spoken_refusals))
        return list(out)

    def _fill_slots(self, sentence: str, slots: tuple[str, ...], n: int) -> list[str]:
        filled = [sentence]
        for slot in slots:
            marker = "{" + slot + "}"
            if marker not in sentence:
                continue
            words = [w for values in self.slots[slot].values() for w in values]
            # Rotate through the slot's words so every one appears somewhere in the corpus.
            picks = [words[(n * 3 + k) % len(words)] for k in range(3)]
            filled = [s.replace(marker, pick) for s in filled for pick in picks]
        return filled


def data_digest(locale: str = "en-us", root: Path = DATA_DIR) -> str:
    """sha256 over the locale's data files: a key for anything derived from them."""
    h = hashlib.sha256()
    for path in sorted((root / locale).iterdir()):
        if path.is_file():
            h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def load_catalog(locale: str = "en-us", root: Path = DATA_DIR) -> Catalog:
    folder = root / locale
    intents: list[dict[str, object]] = []
    for name in INTENT_FILES:
        data = read_toml(folder / name)
        family = name.removesuffix(".toml")
        intents += [{"family": family, **entry} for entry in data.get("intent", [])]
    lexicon = _read(Lexicon, folder / "lexicon.toml")
    safety = _read(SafetySpec, folder / "safety.toml")
    frames = _read(FrameSpec, folder / "frames.toml")
    try:
        return Catalog(
            locale=locale,
            intents=tuple(IntentSpec.model_validate(i) for i in intents),
            slots=read_toml(folder / "slots.toml"),
            lexicon=lexicon,
            safety=safety,
            frames=frames,
        )
    except ValidationError as exc:
        raise ConfigError(_message(folder, exc)) from exc


def _read(model: type[M], path: Path) -> M:
    try:
        return model.model_validate(read_toml(path))
    except ValidationError as exc:
        raise ConfigError(_message(path, exc)) from exc


def _message(where: Path, exc: ValidationError) -> str:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"])
    return f"intent data in {where}: {key}: {err['msg']}"
