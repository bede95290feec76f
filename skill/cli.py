"""`b12-skill`: the command line. Errors end here as one clear line and exit code 2."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from .app import Skill, build_skill
from .audio.pcm import decode_wav
from .config import load_settings
from .errors import InputError, SkillError
from .events import Answer, Failed
from .sessions import SessionStore
from .tts import play, save_speech, say_once, voices_main

EXIT_FAILED = 1
EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(name)s: %(message)s"
    )
    try:
        settings = load_settings(args.config)
        return int(args.run(args, build_skill(settings)))
    except SkillError as exc:
        print(f"b12-skill: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


class _Parser(argparse.ArgumentParser):
    """A mistake on the command line is one line (the usage is one --help away) and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (--help for usage)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="b12-skill", description="Offline voice skill answering questions about vitamin B12 and aches."
    )
    config_help = "config.toml to use (default: ./config.toml or the project's own)"
    verbose_help = "log what the skill does (engines, requests)"
    parser.add_argument("--config", type=Path, default=None, help=config_help)
    parser.add_argument("-v", "--verbose", action="store_true", help=verbose_help)
    # The same options after the subcommand ("b12-skill serve --config X"); SUPPRESS keeps one given
    # before the subcommand from being reset by the subcommand's default.
    common = _Parser(add_help=False)
    common.add_argument("--config", type=Path, default=argparse.SUPPRESS, help=config_help)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=verbose_help)
    sub = parser.add_subparsers(dest="command", required=True)

    ask = sub.add_parser("ask", parents=[common], help="answer a typed question")
    ask.add_argument("text", nargs="?", help="the question")
    ask.add_argument("--json", action="store_true", help="print the answer object as JSON")
    ask.add_argument(
        "--jsonl",
        action="store_true",
        help='read {"text": ..., "session": ...} lines on stdin, write one answer per line',
    )
    ask.add_argument("--session", default=None, help="session id, for follow-up questions")
    _speech_options(ask)
    ask.set_defaults(run=_ask)

    listen = sub.add_parser(
        "listen", parents=[common], help="answer spoken questions from WAV files (or the microphone)"
    )
    listen.add_argument("files", nargs="*", type=Path, help="WAV files, one question each")
    listen.add_argument("--json", action="store_true", help="one JSON object per file")
    listen.add_argument("--jsonl", action="store_true", help="same as --json (one object per line)")
    listen.add_argument("--engine", choices=["auto", "vosk", "whisper", "pocketsphinx"], help="override [stt] engine")
    listen.add_argument("--mic", action="store_true", help="listen to the default microphone")
    listen.add_argument("--session", default=None, help="session id shared by all files (follow-ups)")
    _speech_options(listen)
    listen.set_defaults(run=_listen)

    say = sub.add_parser("say", parents=[common], help="speak a text to a WAV file or the sound device")
    say.add_argument("text")
    say.add_argument("-o", "--output", type=Path, help="WAV file to write")
    say.add_argument("--speak", action="store_true", help="play it on the default sound device")
    say.add_argument("--rate", type=int, default=None, help="sample rate in Hz (default: the engine's own)")
    say.set_defaults(run=_say)

    voices = sub.add_parser("voices", parents=[common], help="list the installed voices ([tts] voice takes the id)")
    voices.add_argument("--english", action="store_true", help="English voices only")
    voices.set_defaults(run=_voices)

    chat = sub.add_parser("chat", parents=[common], help="type questions and read the answers")
    chat.set_defaults(run=_chat)

    main_job = sub.add_parser(
        "run", parents=[common], help="the main job: hands-free with a microphone, else the backend"
    )
    main_job.set_defaults(run=_run)

    serve = sub.add_parser(
        "serve", parents=[common], help="run the backend: HTTP + WebSocket + Alexa endpoint + Wyoming"
    )
    serve.add_argument(
        "--port", type=_port, default=None, help="HTTP port (default: [server] port; 0 picks a free one)"
    )
    serve.add_argument("--wyoming-port", type=_port, default=None, help="Wyoming port (default: [server] wyoming_port)")
    serve.set_defaults(run=_serve)

    alexa = sub.add_parser(
        "alexa-model", parents=[common], help="print the Alexa interaction model generated from intents/"
    )
    alexa.add_argument("--out", default=None, help="write to this file instead of stdout")
    alexa.add_argument("--invocation", default=None, help="the invocation name")
    alexa.set_defaults(run=_alexa_model)

    models = sub.add_parser("models", parents=[common], help="speech models")
    models_sub = models.add_subparsers(dest="models_command", required=True)
    download = models_sub.add_parser(
        "download",
        parents=[common],
        help="download a speech model (needs a connected machine): vosk's small model, or a Whisper size",
    )
    download.add_argument(
        "which", nargs="?", default="vosk", help="vosk (default), whisper-tiny.en, whisper-base.en or whisper-small.en"
    )
    download.add_argument("--lang", default="en-us", help="vosk model language")
    download.add_argument("--dest", type=Path, default=None, help="folder for models (default: each engine's own)")
    download.set_defaults(run=_models_download)
    return parser


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535; 0 picks a free one)")
    return port


def _speech_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--speak", action="store_true", help="also play the answer on the default sound device")
    parser.add_argument("--speak-to", type=Path, metavar="OUT.wav", help="also write the spoken answer to a WAV file")


async def _speak_answer(skill: Skill, answer: Answer | Failed, args: argparse.Namespace, out: Path | None) -> None:
    """--speak / --speak-to: the answer's audio, after its text is out (so errors never hide it)."""
    if not isinstance(answer, Answer) or not (args.speak or out):
        return
    speech = await skill.speak(answer.text)
    if out is not None:
        save_speech(speech, out)
    if args.speak:
        await (await play(speech)).wait()


def _ask(args: argparse.Namespace, skill: Skill) -> int:
    if args.jsonl:
        return asyncio.run(_ask_jsonl(skill, sys.stdin.buffer, sys.stdout))
    if args.text is None:
        print("b12-skill: ask needs the question text, or --jsonl to read questions from stdin", file=sys.stderr)
        return EXIT_USAGE

    async def one() -> Answer | Failed:
        try:
            answer = await skill.ask(args.text, args.session or SessionStore.new_id())
            if args.json:
                print(answer.model_dump_json(), flush=True)
            elif isinstance(answer, Answer):
                print(answer.text, flush=True)
            await _speak_answer(skill, answer, args, args.speak_to)
            return answer
        finally:
            await skill.close()

    answer = asyncio.run(one())
    if isinstance(answer, Failed):
        if not args.json:
            print(f"b12-skill: {answer.message}", file=sys.stderr)
        return EXIT_FAILED
    return 0


async def _ask_jsonl(skill: Skill, lines: Iterable[bytes], out: TextIO) -> int:
    """One answer (or error) object per input line; a bad line never stops the batch."""
    for number, raw in enumerate(lines, start=1):
        session = SessionStore.new_id()
        try:
            request = _parse_line(raw, number)
            session = request.get("session") or session
            result: Answer | Failed = await skill.pipeline.ask(request["text"], session)
        except SkillError as exc:
            result = Failed(session=session, code=exc.code, message=exc.message)
        out.write(json.dumps({**result.model_dump(mode="json"), "line": number}) + "\n")
        out.flush()
    return 0  # per-line errors are reported in-band


def _parse_line(raw: bytes, number: int) -> dict[str, str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"line {number} is not valid UTF-8 (byte {exc.start})") from None
    try:
        request = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"line {number} is not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(request, dict) or not isinstance(request.get("text"), str):
        raise InputError(f'line {number} must be an object with a string "text"')
    session = request.get("session")
    if session is not None and not isinstance(session, str):
        raise InputError(f'line {number}: "session" must be a string')
    return request


def _listen(args: argparse.Namespace, skill: Skill) -> int:
    if args.engine:
        stt = skill.settings.stt.model_copy(update={"engine": args.engine})
        skill = build_skill(skill.settings.model_copy(update={"stt": stt}))
    if args.mic:
        return asyncio.run(_listen_mic(skill, args))
    if not args.files:
        print("b12-skill: listen needs WAV files, or --mic", file=sys.stderr)
        return EXIT_USAGE
    return asyncio.run(_listen_files(skill, args))


async def _listen_files(skill: Skill, args: argparse.Namespace) -> int:
    """Each file is answered on its own; a bad file is reported and the rest still run."""
    as_json = args.json or args.jsonl
    failed = 0
    await skill.speech()
    print(f"speech recognizer: {skill.engine_note}", file=sys.stderr, flush=True)
    try:
        for number, path in enumerate(args.files, start=1):
            session = args.session or SessionStore.new_id()
            try:
                pcm = await asyncio.to_thread(decode_wav, path, skill.settings.stt.max_audio_s)
                result = await skill.listen(pcm, session)
            except SkillError as exc:
                result = Failed(session=session, code=exc.code, message=f"{path}: {exc.message}")
            except OSError as exc:
                result = Failed(session=session, code="bad_input", message=f"{path}: {exc.strerror}")
            failed += isinstance(result, Failed)
            out = args.speak_to
            if out is not None and len(args.files) > 1:
                out = out.with_name(f"{out.stem}-{number}{out.suffix}")
            if as_json:
                print(json.dumps({**result.model_dump(mode="json"), "file": str(path)}), flush=True)
            elif isinstance(result, Answer):
                print(f"{path}: heard {result.transcript!r}\n{result.text}", flush=True)
            else:
                print(f"b12-skill: {result.message}", file=sys.stderr, flush=True)
            await _speak_answer(skill, result, args, out)
    finally:
        await skill.close()
    return EXIT_FAILED if failed else 0


async def _listen_mic(skill: Skill, args: argparse.Namespace) -> int:
    from .audio.endpoint import Endpointer, capture_utterance
    from .audio.mic import microphone_chunks

    session = args.session or SessionStore.new_id()
    stt = skill.settings.stt
    try:
        print("Listening... ask your question.", file=sys.stderr)
        endpointer = Endpointer(end_silence_s=stt.end_silence_s, no_speech_timeout_s=stt.no_speech_timeout_s)
        heard = await capture_utterance(microphone_chunks(), endpointer)
        pcm = getattr(heard, "pcm", b"")
        result = await skill.listen(pcm, session) if pcm else await skill.ask("", session)
        print(result.model_dump_json() if args.json or args.jsonl else getattr(result, "text", ""))
        await _speak_answer(skill, result, args, args.speak_to)
        return 0 if isinstance(result, Answer) else EXIT_FAILED
    finally:
        await skill.close()


def _say(args: argparse.Namespace, skill: Skill) -> int:
    if not (args.output or args.speak):
        print("b12-skill: say needs -o OUT.wav or --speak", file=sys.stderr)
        return EXIT_USAGE
    asyncio.run(say_once(args.text, skill.settings.tts, out=args.output, speak=args.speak, sample_rate=args.rate))
    return 0


def _voices(args: argparse.Namespace, skill: Skill) -> int:
    print(voices_main(skill.settings.tts, english_only=args.english))
    return 0


def _run(args: argparse.Namespace, skill: Skill) -> int:
    """Hands-free with a microphone; without one, the backend that speakers and the web page use."""
    from .audio.mic import find_input_device, load_sounddevice

    try:
        find_input_device(load_sounddevice())
    except SkillError as exc:
        print(f"no microphone here ({exc.message}): serving the backend and the web page instead", flush=True)
        args.port = args.wyoming_port = None
        return _serve(args, skill)
    return asyncio.run(_handsfree(skill))


async def _handsfree(skill: Skill) -> int:
    from .audio.mic import microphone_chunks
    from .handsfree.run import run_handsfree

    settings = skill.settings.handsfree
    print(f"Hands-free: say {settings.wake_phrase!r}, then your question. Ctrl-C to leave.", flush=True)
    try:
        await run_handsfree(skill, settings, microphone_chunks())
    finally:
        await skill.close()
    return 0


def _serve(args: argparse.Namespace, skill: Skill) -> int:
    from .server import start_servers

    server = skill.settings.server.model_copy(
        update={k: v for k, v in {"port": args.port, "wyoming_port": args.wyoming_port}.items() if v is not None}
    )
    settings = skill.settings.model_copy(update={"server": server})

    async def main() -> None:
        running = await start_servers(settings, skill)
        host = server.host if ":" not in server.host else f"[{server.host}]"
        print(f"B12 skill serving: open http://{host}:{running.http_port}/ in a browser", flush=True)
        if running.wyoming_port:
            print(f"Wyoming (Home Assistant) on tcp://{host}:{running.wyoming_port}", flush=True)
        await skill.speech()
        print(f"speech recognizer: {skill.engine_note}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await running.stop()
            await skill.close()

    try:
        asyncio.run(main())
    except OSError as exc:  # the port is taken, or the address is not this machine's
        print(f"b12-skill: cannot listen on {server.host} (port {server.port}): {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0


def _alexa_model(args: argparse.Namespace, skill: Skill) -> int:
    from .server.alexa.model import main as model_main

    argv = ["--locale", skill.settings.skill.locale]
    argv += ["--out", args.out] if args.out else []
    argv += ["--invocation", args.invocation] if args.invocation else []
    return model_main(argv)


def _models_download(args: argparse.Namespace, skill: Skill) -> int:
    def progress(done: int, total: int | None) -> None:
        if total:
            width = 30
            filled = int(width * done / total)
            print(f"\r[{'#' * filled}{'.' * (width - filled)}] {100 * done / total:5.1f}%", end="", file=sys.stderr)

    if args.which.startswith("whisper-"):
        from .stt import whisper_engine

        dest = args.dest or skill.settings.skill.cache_path() / "stt" / "whisper"
        print(f"downloading Whisper {args.which.removeprefix('whisper-')} ...", file=sys.stderr)
        path = whisper_engine.download(args.which.removeprefix("whisper-"), dest, progress)
        print(f'\nWhisper model ready at {path}; [stt] engine = "auto" finds it there', file=sys.stderr)
        return 0
    if args.which != "vosk":
        raise InputError(f"unknown model {args.which!r}: vosk, whisper-tiny.en, whisper-base.en or whisper-small.en")
    from .stt.vosk_engine import download_model

    path = download_model(args.lang, args.dest or Path.home() / ".cache" / "vosk", progress)
    print(f"\nvosk model ready at {path}; set [stt] vosk_model_path or VOSK_MODEL_PATH to use it", file=sys.stderr)
    return 0


def _chat(args: argparse.Namespace, skill: Skill) -> int:
    session = SessionStore.new_id()
    print("Ask about vitamin B12 and aches. Say 'stop' or press Ctrl-D to leave.")

    async def turn(text: str) -> Answer | Failed:
        return await skill.pipeline.ask(text, session)

    while True:
        try:
            text = input("you> ")
        except EOFError:
            print()
            return 0
        answer = asyncio.run(turn(text))
        print(f"skill> {answer.text if isinstance(answer, Answer) else 'error: ' + answer.message}")
        if isinstance(answer, Answer) and answer.end_session:
            return 0


if __name__ == "__main__":
    raise SystemExit(main())
