"""Understanding accuracy on the held-out questions (tests/heldout/questions.toml).

The held-out set was written from the source document and the intent catalogue
only, never from intents/, and is never used to change the intents. Run:

    python -m bench.text_accuracy [--show-errors]
"""

from __future__ import annotations

import argparse
import tomllib
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

from handlers import Conversation, KnowledgeBase, load_knowledge, respond
from intents import IntentMatch, Matcher, load_catalog

TESTS = Path(__file__).resolve().parent.parent / "tests"
HELDOUT = TESTS / "heldout" / "questions.toml"
BUILTINS = {"help", "repeat", "stop", "cancel", "tell_me_more", "why", "greeting", "what_about"}


def category(intent: str) -> str:
    if intent in ("emergency", "out_of_scope", "dose_question"):
        return intent
    if intent == "fallback":
        return "out_of_scope"
    return "builtin" if intent in BUILTINS else "domain"


REFUSALS = {"out_of_scope", "fallback", None}

Classify = Callable[[str], tuple[str | None, dict[str, str]]]


def load_cases(path: Path = HELDOUT) -> list[dict]:  # type: ignore[type-arg]
    return list(tomllib.loads(path.read_text())["case"])


def intent_ok(case: dict, got: str | None, slots: dict[str, str]) -> bool:  # type: ignore[type-arg]
    """Right intent (any refusal counts for an out-of-scope label) and the labelled slot values."""
    want = case["intent"]
    if not (got == want or (want in REFUSALS and got in REFUSALS)):
        return False
    return all(slots.get(k) == v for k, v in case.get("slots", {}).items())


def score(classify: Classify, cases: list[dict]) -> dict[str, tuple[int, int]]:  # type: ignore[type-arg]
    """Per category (domain, out_of_scope, emergency, dose_question, builtin): (right, total)."""
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for case in cases:
        got, slots = classify(case["text"])
        cat = category(case["intent"])
        total[cat] += 1
        right[cat] += intent_ok(case, got, slots)
    return {cat: (right[cat], total[cat]) for cat in total}


def matcher_classify(matcher: Matcher) -> Classify:
    def classify(text: str) -> tuple[str | None, dict[str, str]]:
        understood = matcher.understand(text)
        if isinstance(understood, IntentMatch):
            return understood.intent, dict(understood.slots)
        return None, {}

    return classify


def answer_ok(case: dict, got: str, slots: dict[str, str], facts: tuple[str, ...], kb: KnowledgeBase) -> bool:  # type: ignore[type-arg]
    """The labelled intent (and slots), or an answer that says the labelled answer's first fact.

    Questions now get answers composed from their frame, so a question labelled "compare, side
    injection, feature pain type" is answered right by any intent whose answer says that fact.
    """
    want = case["intent"]
    refusal = {"out_of_scope", "fallback"}
    if want in refusal:
        return got in refusal or got == "dose_question"
    if got == want and all(slots.get(k) == v for k, v in case.get("slots", {}).items()):
        return True
    spec = kb.answers.get(want)
    if spec is None:
        return False
    expected = spec.resolve(dict(case.get("slots", {}))).facts[:1]
    return bool(expected) and expected[0] in facts


def evaluate(path: Path = HELDOUT, show_errors: bool = False) -> dict[str, tuple[int, int]]:
    cases = tomllib.loads(path.read_text())["case"]
    matcher = Matcher(load_catalog())
    kb = load_knowledge("Please check with your doctor.")
    right: Counter[str] = Counter()
    total: Counter[str] = Counter()
    errors: dict[str, list[str]] = defaultdict(list)
    for case in cases:
        want = case["intent"]
        understood = matcher.understand(case["text"])
        got = understood.intent if isinstance(understood, IntentMatch) else "fallback"
        slots = dict(understood.slots) if isinstance(understood, IntentMatch) else {}
        reply = respond(understood, Conversation(id="eval"), kb).reply
        ok = answer_ok(case, got, slots, reply.facts, kb)
        ok = ok and all(w in reply.text.lower() for w in case.get("must_contain", []))
        cat = category(want)
        total[cat] += 1
        right[cat] += ok
        if not ok:
            want_slots = case.get("slots", {})
            errors[cat].append(f"{case['text']!r}: want {want} {want_slots}, got {got} {slots} {reply.facts}")
    for cat in sorted(total):
        print(f"{cat:14s} {right[cat]:4d}/{total[cat]:<4d} {100 * right[cat] / total[cat]:5.1f}%")
        if show_errors:
            for line in errors[cat]:
                print("    ", line)
    n, r = sum(total.values()), sum(right.values())
    print(f"{'all':14s} {r:4d}/{n:<4d} {100 * r / n:5.1f}%")
    return {cat: (right[cat], total[cat]) for cat in total}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--show-errors", action="store_true")
    parser.add_argument(
        "--set",
        default="heldout/questions.toml",
        help="question file under tests/ (tests/dev/questions-N.toml: the sets used to improve intents)",
    )
    args = parser.parse_args()
    evaluate(TESTS / args.set, args.show_errors)
