"""The engine worker: a child process that owns the one pyttsx3 engine.

Run as a script (`python worker.py`), not imported by the skill: it needs only the standard library
and pyttsx3, so it starts fast (a restart after a hang costs about 0.1 s).

Protocol: one JSON object per line. Requests come on stdin; replies go to a private copy of the
original stdout, because pyttsx3 prints ("Audio saved to ...") on fd 1, which is pointed at stderr.
First reply: {"type": "ready", "voices": [...], "default_voice": ..., "sample_rate": 22050}.
Then, per request, in order: {"id": ..., "ok": true, ...} or {"id": ..., "ok": false, "kind":
"input" | "synthesis", "error": ...}. One request at a time: pyttsx3 is not thread-safe.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import wave
from typing import Any

ENGINE_RATE = 22050  # what pyttsx3's espeak driver writes
EMBEDDED = "\x01"  # espeak's embedded-command mark: "\x01170S" speaks at 170 wpm from there on
FINISH_WAIT_S = 5.0  # how long to wait for the end of an utterance after runAndWait returns


class _QuickPoll:
    """Stand-in for the `time` module inside pyttsx3's espeak driver. Its run loop sleeps 10 ms
    per turn even though synthesis has already finished inside the first turn (espeak calls back
    synchronously), which put a 10 ms floor under every request; poll every 1 ms instead."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(min(seconds, 0.001))


class Worker:
    def __init__(self) -> None:
        import pyttsx3  # imported here so a missing engine becomes a clear error reply
        from pyttsx3.drivers import espeak as espeak_driver

        if getattr(espeak_driver, "time", None) is time:
            espeak_driver.time = _QuickPoll()
        from pyttsx3.drivers import _espeak

        self.engine = pyttsx3.init("espeak")
        # runAndWait returns once espeak has *started* (its output mode is asynchronous); the
        # driver's callback then runs on espeak's thread, and after writing the file it pumps
        # pyttsx3's command queue from there. Starting the next request before that callback has
        # returned let both threads pop commands (a property set or the text itself lost or run
        # out of order: the wrong speaking rate, now and then no end at all). So the utterance is
        # done when the driver's last callback has *returned*, not when it notifies.
        driver_callback = self.engine.proxy._driver._onSynth
        self.ended = threading.Event()

        def on_synth(wav: Any, numsamples: int, events: Any) -> int:
            last = _ends_utterance(events, _espeak)
            try:
                return int(driver_callback(wav, numsamples, events))
            finally:
                if last:
                    self.ended.set()

        _espeak.SetSynthCallback(on_synth)
        self.voices = [
            {
                "id": v.id,
                "name": v.name,
                "languages": list(v.languages or []),
                "gender": v.gender,
            }
            for v in self.engine.getProperty("voices")
        ]
        self.voice_ids = {v["id"] for v in self.voices}
        self.default_voice = self.engine.getProperty("voice")
        self.current: dict[str, Any] = {}

    def _configure(self, voice: str, rate: int, volume: float) -> None:
        # espeak silently keeps the old voice for an unknown name, so check here too.
        if voice not in self.voice_ids:
            raise LookupError(f"unknown voice {voice!r}")
        if self.current.get("voice") != voice:  # loading a voice reads files: only on a change
            self.engine.setProperty("voice", voice)
            self.current["voice"] = voice
        # Rate and volume are plain parameter sets, so every request sets them again: one that
        # went astray then costs one utterance, not the worker's whole life.
        self.engine.setProperty("rate", rate)
        self.engine.setProperty("volume", volume)

    def synth(self, req: dict[str, Any]) -> dict[str, Any]:
        rate, volume = int(req["rate"]), float(req["volume"])
        self._configure(req["voice"], rate, volume)
        # espeak applies a parameter set only when its queue next runs, and about one fresh worker in
        # 1,500 spoke its first utterances at the previous rate anyway (measured; cause inside espeak's
        # queue unknown). Speed and amplitude as embedded commands travel with the text itself.
        text = f"{EMBEDDED}{rate}S{EMBEDDED}{round(volume * 100)}A{req['text']}"
        # Now and then (seen after the process was stopped and continued mid-utterance) espeak ends an
        # utterance without the driver writing it: say it once more here rather than lose the worker.
        for attempt in (1, 2):
            frames = self._say(text, req["path"])
            if frames:
                return {"frames": frames, "sample_rate": ENGINE_RATE}
            print(f"engine wrote no audio (attempt {attempt} of 2)", file=sys.stderr, flush=True)
        raise RuntimeError("engine finished without writing any audio")

    def _say(self, text: str, path: str) -> int:
        # pyttsx3 writes the file inside an espeak callback, where an error is swallowed and the
        # run loop then never ends: find an unwritable path here instead.
        with open(path, "wb"):
            pass
        self.ended.clear()
        self.engine.save_to_file(text, path)
        self.engine.runAndWait()
        if not self.ended.wait(FINISH_WAIT_S):
            raise TimeoutError("engine never finished the utterance")
        # The callback has returned, so the file is closed: its frame count must match its size.
        return _complete_frames(path)  # speech text is never empty, so 0 frames is a failure


def _ends_utterance(events: Any, espeak: Any) -> bool:
    """Whether this callback's event list (terminated by LIST_TERMINATED) holds MSG_TERMINATED."""
    i = 0
    while events[i].type != espeak.EVENT_LIST_TERMINATED:
        if events[i].type == espeak.EVENT_MSG_TERMINATED:
            return True
        i += 1
    return False


def _complete_frames(path: str) -> int:
    """Frames in the WAV on disk once it is whole (header count matches the size), else 0."""
    try:
        with wave.open(path, "rb") as w:
            frames = w.getnframes()
            fmt = (w.getframerate(), w.getnchannels(), w.getsampwidth())
    except (EOFError, wave.Error):
        return 0  # the header is not written yet
    if fmt != (ENGINE_RATE, 1, 2):
        raise ValueError(f"unexpected WAV format in {path}")
    return frames if os.path.getsize(path) >= 44 + 2 * frames else 0


def main() -> None:
    # The whole process group gets Ctrl-C / SIGTERM; the parent ends us through the pipe (EOF if it dies).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # anything pyttsx3 or espeak prints goes to stderr, never into the protocol

    def reply(obj: dict[str, Any]) -> None:
        out.write(json.dumps(obj) + "\n")

    try:
        worker = Worker()
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises SynthesisError
        reply({"type": "failed", "error": f"{type(exc).__name__}: {exc}"})
        return
    reply(
        {
            "type": "ready",
            "pid": os.getpid(),
            "voices": worker.voices,
            "default_voice": worker.default_voice,
            "sample_rate": ENGINE_RATE,
        }
    )
    for line in sys.stdin:
        req = json.loads(line)
        rid = req.get("id")
        try:
            if req["op"] == "synth":
                reply({"id": rid, "ok": True, **worker.synth(req)})
            elif req["op"] == "ping":
                reply({"id": rid, "ok": True})
            else:
                reply({"id": rid, "ok": False, "kind": "input", "error": f"bad op {req['op']!r}"})
        except LookupError as exc:
            reply({"id": rid, "ok": False, "kind": "input", "error": str(exc)})
        except Exception as exc:  # noqa: BLE001 - the parent restarts us and retries once
            reply(
                {
                    "id": rid,
                    "ok": False,
                    "kind": "synthesis",
                    "error": f"{type(exc).__name__}: {exc}",
                }
            )


if __name__ == "__main__":
    main()
