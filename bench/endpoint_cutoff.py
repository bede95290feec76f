"""Does the short endpoint cut people off? Held-out questions spoken with pauses inside them.

    python -m bench.endpoint_cutoff [--pause 0.3] [--every 2]

Each held-out question (tests/heldout/questions.toml) is split into three runs of words, each
spoken separately by the Piper voice and joined with `--pause` seconds of silence (a person
thinking mid-sentence), then followed by silence. The hands-free loop listens as after the wake
phrase; a question is cut off when the loop stops listening before the last word was heard. Also
reported: how much silence it waited after the question (short when the question was understood,
the full end_silence_s otherwise).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tomllib
from pathlib import Path

from bench.voices import piper
from skill.app import build_skill
from skill.config import Settings
from skill.handsfree import HandsFree, HandsFreeSettings

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench-speech"
CHUNK = 640  # 20 ms


class _Quiet:
    async def play(self, speech: object) -> object:  # earcons and answers are never played here
        raise AssertionError("nothing is played in this benchmark")


def _trimmed(pcm: bytes, level: int = 300) -> bytes:
    """The clip without the quiet a synthesizer puts before and after it, so a pause is the pause asked for."""
    from array import array

    x = array("h", pcm)
    loud = [i for i, v in enumerate(x) if abs(v) > level]
    return x[loud[0] : loud[-1] + 1].tobytes() if loud else b""


def _pieces(text: str) -> list[str]:
    words = text.split()
    third = max(1, len(words) // 3)
    return [" ".join(words[:third]), " ".join(words[third : 2 * third]), " ".join(words[2 * third :])]


async def _listen(loop: HandsFree, pieces: list[bytes], pause_s: float) -> tuple[bool, float]:
    """(cut off, seconds of silence after the question before the loop stopped listening)."""
    await loop._listen("listening", 10.0)  # noqa: SLF001 - as if the wake phrase had just been heard
    gap = bytes(2 * int(16000 * pause_s))
    for n, pcm in enumerate(pieces):
        for i in range(0, len(pcm), CHUNK):
            await loop.feed(pcm[i : i + CHUNK])
            if loop.state != "listening":
                return True, 0.0
        if n < len(pieces) - 1:
            for i in range(0, len(gap), CHUNK):
                await loop.feed(gap[i : i + CHUNK])
                if loop.state != "listening":
                    return True, 0.0
    waited = 0
    while loop.state == "listening" and waited < 3 * 16000 * 2:
        await loop.feed(bytes(CHUNK))
        waited += CHUNK
    return False, waited / 2 / 16000


async def run(pause_s: float, every: int, early_s: float | None = None) -> None:
    cases = tomllib.loads((ROOT / "tests" / "heldout" / "questions.toml").read_text())["case"][::every]
    cases = [c for c in cases if len(c["text"].split()) >= 3]
    voice = piper(CACHE)
    skill = build_skill(Settings())
    await skill.speech()
    settings = HandsFreeSettings()
    if early_s is not None:
        settings = settings.model_copy(update={"early_end_silence_s": early_s})
    cut, waits = 0, []
    try:
        for n, case in enumerate(cases):
            loop = HandsFree(skill, settings.model_copy(update={"session": f"cut-{n}"}), _Quiet(), lambda _e: None)  # type: ignore[arg-type]
            loop._earcon = _no_earcon  # type: ignore[method-assign]  # noqa: SLF001
            pieces = [_trimmed(voice(p)) for p in _pieces(case["text"])]
            was_cut, waited = await _listen(loop, pieces, pause_s)
            await loop.close()
            cut += was_cut
            if not was_cut:
                waits.append(waited)
    finally:
        await skill.close()
    print(f"engine: {skill.engine_note}")
    print(
        f"{len(cases)} held-out questions, each in three runs of words with {pause_s:g} s pauses (Piper voice); "
        f"early end after {settings.early_end_silence_s:g} s"
    )
    print(f"cut off by the endpoint: {cut} of {len(cases)}")
    short = sum(w < settings.end_silence_s - 0.2 for w in waits)
    print(
        f"silence waited after the question: median {statistics.median(waits):.2f} s; "
        f"ended early (well under {settings.end_silence_s:g} s) for {short} of {len(waits)}"
    )


async def _no_earcon(kind: str) -> None:
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pause", type=float, default=0.3)
    parser.add_argument("--every", type=int, default=2, help="every n-th held-out question")
    parser.add_argument("--early", type=float, default=None, help="override [handsfree] early_end_silence_s")
    args = parser.parse_args()
    asyncio.run(run(args.pause, args.every, args.early))


if __name__ == "__main__":
    main()
