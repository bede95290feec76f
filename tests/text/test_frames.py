"""Reading questions into frames: negation, severity, parts, uncovered topics, and the data behind them."""

from __future__ import annotations

import asyncio
import tomllib
import uuid
from pathlib import Path

import pytest

from intents import IntentMatch, load_catalog
from intents.catalog import DATA_DIR, Catalog, Negation, SafetySpec
from intents.matcher import Matcher
from intents.negation import NegationScope
from skill.app import Skill
from skill.errors import ConfigError
from skill.events import Answer

GOLDEN = tomllib.loads((Path(__file__).parents[1] / "golden" / "en-us.toml").read_text(encoding="utf-8"))


def _understand(skill: Skill, text: str) -> IntentMatch:
    result = skill.matcher.understand(text)
    assert isinstance(result, IntentMatch), result
    return result


@pytest.mark.parametrize(
    "text",
    [
        "i don't have chest pain but my legs ache",
        "no trouble breathing, no swelling, just sore after my b12 shot",
        "my doctor ruled out a stroke, could low b12 cause my pins and needles",
        "had a chest pain scare years ago that turned out to be nothing, why do my joints ache",
        "my chest doesn't hurt, it's my whole body that aches since the shot",
        "i'm not suicidal or anything, can low b12 affect your mood",
        "i always go a bit faint at the sight of needles, is dizziness after a jab a side effect",
        "i havent passed out or anything, my legs just cramp at night",  # the corrector once made it "have pass out"
        "had the chest pain looked at and it was nothing, does b12 cause joint pain",
        "my uncle died of a heart attack years back, anyway do b12 shots make your arms ache",
        "hypothetically if someone had a seizure after a jab would tablets be better, can b12 make you ache",
        "we saw a character have a stroke on the telly, can low b12 cause tingling",
        "the chest tightness i had in june turned out to be indigestion, why do my feet tingle",
        "i nearly fainted at the price of the jabs, do tablets work as well",
        "could b12 ever trigger a heart attack, and why do injections make muscles hurt",
        "no weakness in my face or arm, nothing one sided, just achy all over since the shots",
        "my legs have slowly got worse for months and i can hardly get up the stairs, is that the b12",
        "does b12 deficiency pain come on all of a sudden or slowly",
        # feared and ruled out, checked and explained, seen online or on a screen, someone else's what-if
        "last winter we really thought mum was having a stroke but the doctors ruled it out, why is she so wobbly",
        "that chest pressure got checked in a and e and it was heartburn, anyway can b12 make my legs ache",
        "a woman on tiktok said her b12 jab caused a heart attack, which i doubt, do jabs make you sore",
        "i watched a film where someone had a seizure after an injection, do b12 shots cause cramps",
        "if someones lips swelled after a shot they would call for help, mine just feel tingly, is that b12",
        "my husband reckons its my vitamins, why do my feet burn at night",
        "if dad ever collapsed we'd call 999, but he's just tired all the time, why is that",
        "three years ago my brother had a seizure, unrelated, but do b12 jabs cause cramps",
        "my pins and needles have slowly spread up my legs over a year, is that b12",
    ],
)
def test_denied_or_harmless_mentions_raise_no_alarm(skill: Skill, text: str) -> None:
    result = skill.matcher.understand(text)
    assert not (isinstance(result, IntentMatch) and result.intent == "emergency"), result


@pytest.mark.parametrize(
    "text",
    [
        "no chest pain but my throat is closing up",  # one denied, one not: the one not denied wins
        "i'm not sure if i'm having a stroke, my face feels droopy",
        "i don't know if it's a heart attack",
        "he's not breathing",
        "i don't want to be alive anymore",
        "i'm not going to be around for much longer, i've written goodbye notes",
        "my nan took her heart tablets three times today and now she's very sleepy",
        "i've swallowed the whole packet of my co codamol because of the pain",
        "grandad says he wants to go to sleep and never wake up",
        "her foot went cold and white all of a sudden",
        "my son says he's going to kill himself",
        "numbness has been climbing, it's gone up to my waist and into both my arms since this morning",
        "he fell off the ladder and his arm is pointing the wrong way",
        "a sudden ripping pain between my shoulders",
    ],
)
def test_a_red_flag_that_is_not_denied_still_wins(skill: Skill, text: str) -> None:
    assert _understand(skill, text).intent == "emergency"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("my toddler swallowed a bunch of my b12 gummies", "poison"),
        ("my 4 year old got into my vitamin tablets", "poison"),
        ("the dog just ate a tub of my gummies", "pet"),
        ("my calf is hot and swollen since the injections", "emergency"),
    ],
)
def test_red_flag_kinds(skill: Skill, text: str, kind: str) -> None:
    assert _understand(skill, text).slots["kind"] == kind


def test_a_racing_heart_is_an_emergency_with_weakness_not_alone(skill: Skill) -> None:
    assert _understand(skill, "my heart is racing and i'm so weak after my jab").intent == "emergency"
    assert _understand(skill, "can b12 shots make my heart race").intent != "emergency"


@pytest.mark.parametrize(
    "case",
    [c for c in GOLDEN["case"] if c["intent"] in ("injection_aches", "injection_reasons", "compare")][:20],
    ids=lambda c: c["text"][:50],
)
async def test_worsening_symptoms_are_never_reassured(skill: Skill, case: dict[str, str]) -> None:
    answer = await asyncio.wait_for(skill.ask(case["text"] + " and it's getting worse", uuid.uuid4().hex), 2)
    assert isinstance(answer, Answer) and answer.frame is not None
    assert "worsening" in answer.frame.severity
    reassuring = [f for f in answer.facts if skill.knowledge.facts[f].reassuring]
    assert not reassuring and "temporary" not in answer.text.lower(), answer.text


def test_two_questions_are_two_parts_and_the_second_keeps_the_subject(skill: Skill) -> None:
    frame = _understand(skill, "why do b12 shots make you ache and how long does it last").frame
    assert [(p.subject, p.ask, p.intent) for p in frame.parts] == [
        ("injection", "why", "injection_reasons"),
        ("injection", "how_long", "compare"),
    ]
    assert frame.parts[1].slots == {"feature": "onset", "side": "injection"}


@pytest.mark.parametrize(
    ("text", "answered"),
    [
        ("does magnesium help with muscle cramps", False),  # the topic is what is asked
        ("is ibuprofen ok with b12 shots", False),
        ("i take metformin and my feet burn at night", True),  # the topic is context
        ("i'm vegan and my hands keep tingling, is that b12", True),
        ("football training and my calves keep cramping, could it be b12", True),  # a setting, then my body
        ("do sleeping pills help with b12 leg cramps", False),
        ("scared of dementia, can low b12 make you forgetful", True),  # the fear is not the question
        ("can low b12 make my legs cramp and should i try quinine", True),
        ("does b12 help your immune system", False),
        ("can b12 cure my migraines", False),  # whether it treats the condition is the question
    ],
)
def test_an_uncovered_topic_is_refused_and_the_rest_answered(skill: Skill, text: str, answered: bool) -> None:
    result = _understand(skill, text)
    assert result.frame.uncovered
    assert (result.intent not in ("out_of_scope", "dose_question")) == answered, result


@pytest.mark.parametrize(
    ("text", "fact"),
    [
        ("what do i have if my feet burn", "symptom.pins_and_needles"),
        ("nans unsteady and forgetful with a sore mouth, what could all that be", "symptom.coordination"),
    ],
)
async def test_what_could_it_be_is_not_diagnosed_but_the_symptoms_are_answered(
    skill: Skill, text: str, fact: str
) -> None:
    answer = await skill.ask(text, uuid.uuid4().hex)
    assert isinstance(answer, Answer) and answer.intent != "out_of_scope"
    assert fact in answer.facts
    assert skill.knowledge.uncovered["cause_unknown"].say in answer.text


@pytest.mark.parametrize(
    "text",
    [
        "what b12 level is normal for a child",
        "what potassium level counts as too low",
        "what should her b12 level be",
        "how many weeks does a course of b12 jabs usually last",
        "how long will i need to stay on the injections",
    ],
)
async def test_levels_and_treatment_courses_are_declined(skill: Skill, text: str) -> None:
    answer = await skill.ask(text, uuid.uuid4().hex)
    assert isinstance(answer, Answer) and answer.intent in ("out_of_scope", "dose_question"), answer
    assert not answer.facts


@pytest.mark.parametrize(
    ("text", "intent", "topic"),
    [
        ("how often should i get my b12 jabs and why do they make me ache", "injection_reasons", "dose"),
        ("how much is a b12 shot at the pharmacy and can it cause muscle cramps", "injection_aches", "cost"),
        ("is it safe to inject b12 myself at home and why would my leg ache after", "injection_reasons", "treatment"),
    ],
)
async def test_a_declined_part_is_said_and_the_other_part_still_answered(
    skill: Skill, text: str, intent: str, topic: str
) -> None:
    answer = await skill.ask(text, uuid.uuid4().hex)
    assert isinstance(answer, Answer) and answer.intent == intent, answer
    wording = skill.knowledge.uncovered[topic]
    # Beside an answered part the decline is the short one, so the answer still fits the budget.
    assert (wording.say if wording.say_in_part else wording.about) in answer.text


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("not coughing up blood or anything i just want to know what b12 actually does", "what_is_b12"),
        (
            "my son didn't eat any of the gummies i checked but what does b12 deficiency do to nerves",
            "why_deficiency_hurts",
        ),
        ("i had my jab yesterday and i was wondering can it make my legs ache", "injection_aches"),
    ],
)
def test_a_question_after_an_aside_is_read_on_its_own(skill: Skill, text: str, intent: str) -> None:
    assert _understand(skill, text).intent == intent


async def test_a_declined_first_part_is_declined_first(skill: Skill) -> None:
    # "..., is that low": a statement that asks about itself is a part of its own.
    answer = await skill.ask(
        "my level came back at 150 is that low and what symptoms can low b12 bring", uuid.uuid4().hex
    )
    assert isinstance(answer, Answer) and answer.intent == "deficiency_symptoms", answer
    refusal = skill.knowledge.say.refuse_part.format(about=skill.knowledge.uncovered["results"].about)
    assert answer.text.startswith(refusal) and answer.facts


@pytest.mark.parametrize(
    "text",
    [
        "i have chest pain, checked my pulse and it was normal",  # the check is of something else
        "my face is numb on one side and nothing helps",
        "she can hardly get up off the floor",
    ],
)
def test_a_red_flag_beside_reassuring_words_is_still_an_emergency(skill: Skill, text: str) -> None:
    assert _understand(skill, text).intent == "emergency"


def test_the_frame_reports_who_and_severity(skill: Skill) -> None:
    frame = _understand(skill, "my mum's legs ache really bad and keep cramping, is it her b12").frame
    assert frame.who == "older" and set(frame.severity) == {"severe", "persistent"}
    assert {"leg_pain", "cramps"} <= set(frame.symptoms)


def test_without_safety_rules_nothing_is_flagged_or_cut(skill: Skill) -> None:
    # An empty table must match nothing (an empty pattern matches everywhere and once hung the benchmark).
    bare = Matcher(skill.catalog.model_copy(update={"safety": SafetySpec(red_flags=())}))
    result = bare.understand("i have chest pain and can b12 make me ache")
    assert isinstance(result, IntentMatch) and result.intent != "emergency" and not result.frame.uncovered


def test_empty_negation_lists_deny_nothing_they_do_not_name() -> None:
    # Only the triggers given deny; an empty list of terminators, pseudo-triggers or conditions is no rule.
    scope = NegationScope(Negation(triggers=("no",)))
    text = "i have chest pain but no fever"
    pain = text.index("chest pain")
    assert not scope.negated(text, pain, pain + len("chest pain"))
    fever = text.index("fever")
    assert scope.negated(text, fever, fever + len("fever"))
    bare = NegationScope(Negation(triggers=()))
    assert not bare.negated(text, fever, fever + len("fever"))


def test_routes_must_name_known_intents_and_asks() -> None:
    catalog = load_catalog()
    frames = catalog.frames
    bad_route = frames.routes[0].model_copy(update={"intent": "nope"})
    broken = frames.model_copy(update={"routes": (*frames.routes, bad_route)})
    with pytest.raises(ValueError, match="unknown intent 'nope'"):
        Catalog.model_validate({**catalog.model_dump(), "frames": broken.model_dump()})


def test_every_uncovered_topic_has_reply_wording(skill: Skill) -> None:
    assert set(skill.catalog.safety.topics) == set(skill.knowledge.uncovered)


def test_general_symptoms_agree_between_reading_and_replies(skill: Skill) -> None:
    general = {name for name, s in skill.knowledge.symptoms.items() if s.general}
    assert general == set(skill.catalog.frames.general_symptoms)
    assert set(skill.knowledge.symptoms) == set(skill.catalog.frames.symptoms)


def test_bad_frame_data_is_one_clear_error(tmp_path: Path) -> None:
    locale = tmp_path / "en-us"
    locale.mkdir()
    for name in ("knowledge.toml", "conversation.toml", "slots.toml", "lexicon.toml", "safety.toml"):
        (locale / name).write_bytes((DATA_DIR / "en-us" / name).read_bytes())
    (locale / "frames.toml").write_text("[subjects]\n")
    with pytest.raises(ConfigError, match="frames"):
        load_catalog("en-us", root=tmp_path)


@pytest.mark.parametrize(
    "text",
    ["no i have chest pain", "nope, ive got chest pain", "no, there is chest pain", "he isnt breathing"],
)
def test_a_no_that_answers_something_else_does_not_deny_what_follows(skill: Skill, text: str) -> None:
    assert _understand(skill, text).intent == "emergency"


@pytest.mark.parametrize(
    "text",
    [
        "could low b12 lead to fainting",
        "is there a risk of passing out with b12 injections",
        "can b12 shots cause blackouts",
        "can b12 deficiency cause paralysis",
        "can b12 cause a stroke",
    ],
)
def test_a_condition_asked_about_gets_a_plain_i_dont_know_not_an_alarm_nor_a_neighbouring_fact(
    skill: Skill, text: str
) -> None:
    result = skill.matcher.understand(text)
    assert isinstance(result, IntentMatch) and result.intent == "out_of_scope", result


@pytest.mark.parametrize(
    "text", ["i keep fainting could it be b12", "she fainted after her jab", "she collapsed after her b12 shot"]
)
def test_the_same_condition_reported_is_still_an_emergency(skill: Skill, text: str) -> None:
    result = skill.matcher.understand(text)
    assert isinstance(result, IntentMatch) and result.intent == "emergency", result


@pytest.mark.parametrize(
    ("text", "alarm"),
    [
        ("i dont feel like my chest is being crushed, it just aches a bit after the jab", False),
        ("it doesnt feel like my throat is closing, just a bit scratchy", False),
        ("it feels like my chest is being crushed", True),
        ("no fever, my chest hurts", True),  # "my" still ends a denial's scope elsewhere
    ],
)
def test_feel_like_my_keeps_the_denial_in_scope(skill: Skill, text: str, alarm: bool) -> None:
    result = skill.matcher.understand(text)
    assert (isinstance(result, IntentMatch) and result.intent == "emergency") is alarm, result


@pytest.mark.parametrize(
    ("text", "facts"),
    [
        # B12 unnamed: first that it is a sign of low B12, then why
        ("why do my hands burn at night", ("symptom.pins_and_needles", "deficiency.myelin")),
        ("why does low b12 cause nerve damage", ("deficiency.myelin",)),  # named: the why alone leads
        # two symptoms: the first fact of each before the word budget runs out
        (
            "my toes are numb and i'm exhausted, could it be b12",
            ("compare.pain_type.deficiency", "symptom.fatigue"),
        ),
        ("can low b12 make your feet go numb", ("compare.pain_type.deficiency", "deficiency.neuropathy")),
    ],
)
async def test_symptom_answers_say_what_the_question_needs_first(
    skill: Skill, text: str, facts: tuple[str, ...]
) -> None:
    answer = await skill.ask(text, f"facts-{text}")
    assert isinstance(answer, Answer) and answer.facts[: len(facts)] == facts, answer


@pytest.mark.parametrize(
    ("text", "subject"),
    [
        ("on injections for pernicious anaemia and my legs keep cramping, is that from the jabs", "injection"),
        ("i have pernicious anaemia and get injections, do the jabs cause cramps", "injection"),
        ("i get b12 shots, could my pernicious anaemia be causing the aches", "absorption"),
    ],
)
def test_the_subject_is_what_the_question_asks_about_not_the_first_named(skill: Skill, text: str, subject: str) -> None:
    assert _understand(skill, text).frame.parts[-1].subject == subject


def test_a_severe_deficiency_is_not_a_severe_symptom(skill: Skill) -> None:
    assert (
        _understand(skill, "on injections for a severe deficiency and my legs ache after each one").frame.severity == ()
    )
    assert _understand(skill, "my legs ache severely after each injection").frame.severity == ("severe",)
