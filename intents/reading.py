"""Read a question into a frame (frames.toml, safety.toml): parts, subject, ask, symptoms, who,
severity, red flags (negation-aware), and the topics the fact base does not cover.

Everything here is word patterns over the cleaned text: quick (well under a millisecond for a
spoken question), and each decision can be traced to one line of data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from .catalog import Catalog
from .frame import Part, QuestionFrame, RedFlag
from .negation import NegationScope
from .normalize import PhraseMap, clean

HEAD_WORDS = 3
CUT_MARK = "xx"  # stands where denied or uncovered words were cut
_SELF = re.compile(r"^(?:i|im|ive|id|my|me|we|our|she|he|her|his|they|their|mum|mom|dad)\b")
# "worried about dementia, can low b12 cause memory problems": what is feared is not what is asked.
_FEAR = re.compile(
    r"\b(?:worried|worrying|scared|afraid|frightened|concerned|anxious|terrified)(?: (?:about|of|that))?\s*$"
)
# "...is that from the jabs", "do the jabs cause it": where what is asked about is named.
_ASKED_FROM = re.compile(
    r"\b(?:from|because of|due to|caused by|down to|blame|do|does|did|can|could|are|is)"
    r"(?= (?:the|my|his|her|their|those|these|them|it)\b)"
)
# "marathon training and my calves keep cramping": a topic at the head that turns at once to the
# speaker's own body is the setting of a story, not the question.
_STORY_TURN = re.compile(r"^(?:\s*\w+){0,4}?\s+(?:and|but|so) (?:my|i|im|ive|me)\b")
_CLAUSE_END = re.compile(
    r"[?!;]+|\.(?!\d)"
    # a comma before a new question: "does it help pain, does it help sleep, and when should i worry"
    r"|,\s*(?=(?:and\s+|or\s+)?(?:is|are|can|could|do|does|did|will|would|should|what|whats|what's|why|how|when|which|who)\b)",
    re.IGNORECASE,
)
_LEAD_IN = re.compile(r"^(?:(?:and|also|plus|oh|so|ok|okay|but|uh|um|umm|er|erm|well|hey|like|right|hi|hello) )+")
# Contractions the cleaning leaves as one word, spelled out so one pattern serves both.
_SPELLED = {
    "whats": "what is",
    "thats": "that is",
    "hows": "how is",
    "whos": "who is",
    "wheres": "where is",
    "theres": "there is",
}
# A statement that ends by asking about itself: "my b12 came back at 180, is that low".
_TAG_QUESTION = re.compile(
    r"\b(?:is|are|was|were|could|can|should|would|will) (?:that|it|this|they|these|those)\b(?: \w+){0,3}$"
)
_QUESTION_START = re.compile(
    r"^(?:is|are|am|can|could|do|does|did|will|would|should|shall|what|whats|why|how|when|which|who|where|has|have)\b"
)


_SAME_THING = re.compile(r"\b(them|those|these|that|it|the same)\b(?! \w+ing)")
_SAME_ASK = re.compile(r"\b(?:do|does|did) (?:it|that|this|the same|so)\b|\bthe same\b")
_WHAT_ABOUT = re.compile(r"^(?:and |but |so )?(?:what|how) about\b|^(?:and |but )?(?:for|with) (?:the )?\w+$")


def _compile(patterns: Iterable[str], *, shortest: bool = False) -> re.Pattern[str]:
    # Each pattern anchored at a word start, so "rain" never fires inside "brain".
    if shortest:  # gaps match as few words as they can, so a denied mention is cut alone
        patterns = [re.sub(r"\.\{(\d+),(\d+)\}(?!\?)", r".{\1,\2}?", p) for p in patterns]
    # No patterns match nothing: an empty alternation would match everywhere.
    return re.compile("|".join(rf"\b(?:{p})" for p in patterns) or "(?!)")


def _table(table: Mapping[str, Iterable[str]]) -> dict[str, re.Pattern[str]]:
    return {name: _compile(patterns) for name, patterns in table.items()}


def _named(table: Mapping[str, Iterable[str]]) -> re.Pattern[str]:
    """One pattern for a whole table, each name a group: one pass over the text finds them all."""
    groups = [f"(?P<{name}>{_compile(patterns).pattern})" for name, patterns in table.items() if patterns]
    return re.compile("|".join(groups) or "(?!)")  # an empty table matches nothing


@dataclass(frozen=True)
class Reading:
    """The frame, and per part the words left for the phrase matcher (denied and uncovered words cut)."""

    frame: QuestionFrame
    remainders: tuple[str, ...]


class FrameReader:
    def __init__(self, catalog: Catalog) -> None:
        spec, safety = catalog.frames, catalog.safety
        # "vitamin b" alone stays itself here: "vitamin b six" is another vitamin, not B12 and a six.
        forms = [f for f in catalog.lexicon.canonical.get("b12", ()) if clean(f) != "vitamin b"]
        self._b12 = PhraseMap({form: "b12" for form in forms})
        self._subject_order = list(spec.subjects)
        self._subjects = _named(spec.subjects)
        self._asks = _table(spec.asks)
        self._ask_of = lru_cache(maxsize=4096)(self._first_ask)
        self._symptoms = _named(spec.symptoms)
        self._who = _named(spec.who)
        self._severity = _table(spec.severity)
        self._features = _table(spec.features)
        self._split = _compile(spec.parts.splits)
        self._negation = NegationScope(spec.negation)
        self._flags = {
            "emergency": _compile(safety.red_flags, shortest=True),
            "poison": _compile(safety.poison_flags, shortest=True),
            "pet": _compile(safety.pet_flags, shortest=True),
        }
        self._pairs = [(_compile([a], shortest=True), _compile([b], shortest=True)) for a, b in safety.paired_flags]
        self._topics = {name: _compile(topic.patterns) for name, topic in safety.topics.items()}
        self._any_topic = _named({name: topic.patterns for name, topic in safety.topics.items()})
        self._asked_topics = frozenset(name for name, topic in safety.topics.items() if topic.asked)
        self._asked_when = {name: _compile(t.asked_when) for name, t in safety.topics.items() if t.asked_when}
        self._quiet_topics = frozenset(name for name, topic in safety.topics.items() if not topic.blocks)
        self._general = frozenset(spec.general_symptoms)

    def prepare(self, text: str) -> str:
        """Cleaned text with every spelling of B12 made "b12"; what all the patterns read."""
        words = " ".join(_SPELLED.get(w, w) for w in clean(text).split())
        return " ".join(self._b12.apply(words.split()))

    def blocks(self, topics: Sequence[str]) -> bool:
        """Does any of these uncovered topics hold back the answer to the rest of the question?"""
        return any(t not in self._quiet_topics for t in topics)

    def question_tails(self, text: str) -> Iterator[tuple[str, Part]]:
        """The questions that open inside a piece after something else was said, each with its part,
        left to right ("not coughing up blood or anything i just want to know what b12 actually does")."""
        words = text.split()
        for i in range(1, len(words) - 2):
            tail = " ".join(words[i:])
            if words[i] != CUT_MARK and _QUESTION_START.match(tail):
                yield tail, self._part(tail, tail)

    @staticmethod
    def is_question(text: str) -> bool:
        """Does the (prepared) text open as a question, fillers aside?"""
        return _QUESTION_START.match(_LEAD_IN.sub("", text)) is not None

    def read(self, text: str, corrected: Sequence[str] = (), heard_also: Sequence[str] = ()) -> Reading:
        """`corrected`: the same words with mishearings snapped to known ones; `heard_also`: what another
        recognition pass heard. Both are read for red flags only. A corrected reading may find a red flag
        the words as typed missed, but not one they deny; another hearing counts whatever this one says:
        in 12 dB pink noise Whisper hears espeak-ng's "she is having a seizure" as "she didn't have a
        seizure", so its denials cannot overrule pocketsphinx (which costs false alarms: on a development
        set spoken clean, 6-7 of 84 calm questions against 3 when Whisper's denials won)."""
        whole = self.prepare(text)
        flags, denied_flags, asked_about = self._red_flags(whole)
        for other in (self.prepare(a) for a in corrected):
            if other != whole:
                more, _, _ = self._red_flags(other)
                flags += [
                    f for f in more if f not in flags and not any(f.words in d or d in f.words for d in denied_flags)
                ]
        for other in (self.prepare(a) for a in heard_also):
            more, _, _ = self._red_flags(other)
            flags += [f for f in more if f not in flags]
        uncovered, cut = self._uncovered(whole)
        parts: list[Part] = []
        remainders: list[str] = []
        said: str | None = None  # the subject the piece before named, cut words included
        for piece in self._pieces(text):
            remainder = self._cut(piece, cut, denied_flags)
            named = tuple(t for t in uncovered if self._topics[t].search(piece))
            blocking = [t for t in named if t not in self._quiet_topics]
            asks = (
                bool(self._asked_topics.intersection(blocking))
                or any(self._leads(t, piece) for t in blocking)
                or any(t in self._asked_when and self._asked_when[t].search(piece) for t in blocking)
            )
            part = self._part(piece, remainder).model_copy(update={"uncovered": named, "asks_uncovered": asks})
            carried = parts[-1].subject or said if parts else None
            if part.subject is None and carried is not None:
                # "...and how long does it last": the earlier part's subject still holds, also when
                # it was named in words cut from that part ("is it safe to inject b12 myself, and why
                # would my leg ache afterwards").
                part = part.model_copy(update={"subject": carried})
            if parts and not part.symptoms and parts[-1].symptoms and _SAME_THING.search(piece):
                # "does low b12 cause cramps, and can the shots cause them too": the same symptoms.
                part = part.model_copy(update={"symptoms": parts[-1].symptoms})
            if (
                part.ask is None
                and part.subject is not None
                and parts
                and parts[-1].ask
                and (_WHAT_ABOUT.match(piece) or _SAME_ASK.search(piece))
            ):
                # "do the tablets cause aches, and what about the injections" / "...do the tablets do it
                # too": the same ask, another side.
                part = part.model_copy(update={"ask": parts[-1].ask})
            said = next(iter(self._subjects_of(piece)), None)
            parts.append(part)
            remainders.append(remainder)
        # Validated: the names come from frames.toml.
        frame = QuestionFrame.model_validate(
            {
                "parts": parts,
                "who": self._who_of(whole),
                "severity": [name for name, p in self._severity.items() if self._affirmed(p, whole)],
                "red_flags": flags,
                "negated": denied_flags,
                "hypothetical": asked_about,
                "uncovered": uncovered,
            }
        )
        return Reading(frame, tuple(remainders))

    # --- safety ---------------------------------------------------------------------------------

    def _red_flags(self, text: str) -> tuple[list[RedFlag], list[str], list[str]]:
        """Red flags said; red-flag words denied or asked about; of those, conditions asked about."""
        found: list[RedFlag] = []
        denied: list[str] = []
        asked: list[str] = []
        for kind, pattern in self._flags.items():
            for m in pattern.finditer(text):
                if self._negation.negated(text, m.start(), m.end(), red_flag=True):
                    denied.append(m.group(0))
                    if self._negation.hypothetical(text, m.start(), m.end()):
                        asked.append(m.group(0))
                else:
                    found.append(RedFlag(words=m.group(0), kind=kind))  # type: ignore[arg-type]
        for first, second in self._pairs:
            a, b = self._affirmed_match(first, text, True), self._affirmed_match(second, text, True)
            if a and b:
                found.append(RedFlag(words=f"{a} + {b}", kind="emergency"))
        # A child or pet who swallowed something is a poisoning, whatever else matched.
        found.sort(key=lambda f: f.kind == "emergency")
        return found, denied, asked

    def _affirmed_match(self, pattern: re.Pattern[str], text: str, red_flag: bool = False) -> str | None:
        for m in pattern.finditer(text):
            if not self._negation.negated(text, m.start(), m.end(), red_flag):
                return m.group(0)
        return None

    def _affirmed(self, pattern: re.Pattern[str], text: str) -> bool:
        return self._affirmed_match(pattern, text) is not None

    def _uncovered(self, text: str) -> tuple[list[str], list[str]]:
        hits = [m for m in self._any_topic.finditer(text) if not self._negation.negated(text, m.start(), m.end())]
        names = [n for n in self._topics if any(m.lastgroup == n for m in hits)]  # in the table's order
        return names, [m.group(0) for m in hits]

    # --- parts ----------------------------------------------------------------------------------

    def _pieces(self, text: str) -> list[str]:
        """Clauses that ask something; a clause that asks nothing (a story) joins the next one."""
        clauses: list[tuple[str, bool]] = []  # and whether a question mark ended it ("b12 and restless legs?")
        ends = [*_CLAUSE_END.finditer(text), None]
        start = 0
        for end in ends:
            prepared = self.prepare(text[start : end.start() if end else len(text)])
            start = end.end() if end else len(text)
            if not prepared:
                continue
            starts = [m.start() for m in self._split.finditer(prepared) if m.start() > 0]
            bounds = [0, *starts, len(prepared)]
            pieces_of = [prepared[a:b].strip() for a, b in zip(bounds, bounds[1:], strict=False)]
            marked = end is not None and "?" in end.group(0)
            clauses += [(c, marked and n == len(pieces_of) - 1) for n, c in enumerate(pieces_of)]
        pieces: list[str] = []
        story = ""
        for clause, marked in clauses:
            if not marked and not self._asks_something(clause):
                story = f"{story} {clause}".strip()
                continue
            pieces.append(f"{story} {clause}".strip())
            story = ""
        if story:
            if pieces:
                pieces[-1] = f"{pieces[-1]} {story}"
            else:
                pieces.append(story)
        return pieces

    def _subjects_of(self, text: str) -> list[str]:
        subjects = sorted(self._found(self._subjects, text), key=self._subject_order.index)
        if not subjects and re.search(r"\bb12\b", text):
            subjects = ["b12"]
        return subjects

    def _part(self, piece: str, text: str) -> Part:
        """A part read from what is left once denied and uncovered words are cut from it."""
        subjects = self._subjects_of(text)
        asked = [m.end() for m in _ASKED_FROM.finditer(text)]
        if asked and len(subjects) > 1:
            # "on injections for pernicious anaemia and my legs cramp, is that from the jabs": what it is
            # asked to come from is the subject, whatever else the story named first.
            named = self._subjects_of(text[asked[-1] :])
            subjects = [*named, *(s for s in subjects if s not in named)]
        symptoms = self._found(self._symptoms, text)
        ask = self._ask_of(text)
        if ask == "cause" and not subjects and not symptoms:
            ask = None  # "where does your info come from": a cause of nothing the facts speak of
        telling = ask is None and not self.is_question(text)
        if telling and symptoms:
            ask = "cause"  # "my feet burn at night", said to a B12 skill: could it be B12?
        feature = next((name for name, p in self._features.items() if p.search(text)), None)
        return Part(
            text=piece,
            feature=feature,
            subject=subjects[0] if subjects else None,  # type: ignore[arg-type]
            subjects=tuple(subjects),  # type: ignore[arg-type]
            ask=ask,  # type: ignore[arg-type]
            symptoms=tuple(symptoms),
        )

    def _leads(self, topic: str, piece: str) -> bool:
        """A topic named at the head of a question is what it asks about ("does iron help", "magnesium
        for cramps"); after "i", "my" or "she" it is context ("i take metformin and my feet burn")."""
        opening = _LEAD_IN.sub("", piece)
        if _SELF.match(opening):
            return False
        found = self._topics[topic].search(opening)
        if found is None:
            return False
        head = opening[: found.start()]
        if len(head.split()) > HEAD_WORDS or _FEAR.search(head):
            return False
        return self.is_question(opening) or not _STORY_TURN.match(opening[found.end() :])

    def _asks_something(self, clause: str) -> bool:
        return self._ask_of(clause) is not None or self.is_question(clause) or _TAG_QUESTION.search(clause) is not None

    def _first_ask(self, text: str) -> str | None:
        return next((name for name, pattern in self._asks.items() if pattern.search(text)), None)

    def _found(self, table: re.Pattern[str], text: str) -> list[str]:
        """Names whose patterns occur and are not denied, in the order they are said."""
        names = (m.lastgroup for m in table.finditer(text) if not self._negation.negated(text, m.start(), m.end()))
        return list(dict.fromkeys(n for n in names if n))

    def _who_of(self, text: str) -> str:
        found = self._who.search(text)
        return found.lastgroup if found and found.lastgroup else "me"

    def _cut(self, text: str, *spans: list[str]) -> str:
        # A cut leaves a mark, so "too much [screen time]" is not read as "too much".
        for words in (w for group in spans for w in group if w):
            text = re.sub(rf"\b{re.escape(words)}\w*", f" {CUT_MARK} ", text)
        return " ".join(text.split())

    def is_general(self, symptom: str) -> bool:
        return symptom in self._general
