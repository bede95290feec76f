"""The CLI as a user runs it: a real process, real stdin and stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import REMINDER, REMINDER_SHORT

ROOT = Path(__file__).resolve().parents[2]


def run(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "skill.cli", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def test_ask_json_answers_yes_with_both_sides_facts_and_reminder() -> None:
    out = run("ask", "can b12 make me ache", "--json")
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert {"text", "intent", "confidence", "facts", "emergency", "session"} <= answer.keys()
    text = answer["text"].lower()
    assert text.startswith("yes") and "low b12" in text and "injections" in text
    assert answer["frame"]["parts"][0]["subject"] == "b12" and answer["frame"]["parts"][0]["ask"] == "cause"
    assert answer["intent"] == "can_b12_cause_aches" and answer["facts"] and answer["emergency"] is False
    assert answer["text"].endswith(REMINDER)


def test_ask_plain_prints_the_answer_text() -> None:
    out = run("ask", "i have chest pain")
    assert out.returncode == 0
    assert out.stdout.decode().startswith("Call emergency services now")


def test_jsonl_answers_every_line_and_reports_bad_lines() -> None:
    lines = [
        json.dumps({"text": "do b12 shots make you sore", "session": "k"}).encode(),
        json.dumps({"text": "how long does that last", "session": "k"}).encode(),
        b"{not json",
        b"\xff\xfe\xfa",
        json.dumps({"text": "🙂🙂"}).encode(),
        json.dumps({"text": "x" * 102_400}).encode(),
        json.dumps({"text": "¿puede la vitamina b12 causar dolores?"}).encode(),
        json.dumps({"text": ""}).encode(),
        json.dumps(["text"]).encode(),
        json.dumps({"text": "what is b12"}).encode(),
    ]
    out = run("ask", "--jsonl", stdin=b"\n".join(lines) + b"\n")
    assert out.returncode == 0, out.stderr
    assert out.stderr == b""
    results = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["line"] for r in results] == list(range(1, 11))
    kinds = [r["type"] for r in results]
    assert kinds == ["answer", "answer", "error", "error", "answer", "error", "answer", "answer", "error", "answer"]
    assert results[1]["facts"][0] == "compare.onset.injection"  # the follow-up used the session
    assert "not valid JSON" in results[2]["message"]
    assert "not valid UTF-8" in results[3]["message"]
    assert "102400 characters" in results[5]["message"]
    assert results[9]["intent"] == "what_is_b12"
    # In full on a session's first answer, short after it (lines 1 and 2 share session "k").
    assert results[0]["text"].endswith(REMINDER) and results[1]["text"].endswith(REMINDER_SHORT)
    assert all(r["text"].endswith(REMINDER) for r in results[2:] if r["type"] == "answer")


def test_chat_keeps_the_conversation_and_ends_on_stop() -> None:
    out = run("chat", stdin=b"do b12 shots make you sore\nhow long does that last\nstop\nnever reached\n")
    assert out.returncode == 0
    text = out.stdout.decode()
    # The reminder in full on the first answer, short on the second, none on "Okay."
    assert "subside quickly" in text and "never reached" not in text
    assert text.count(REMINDER) == 1 and text.count(REMINDER_SHORT) == 1


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("[skill]\nreminder = 'x'\nvoice = 'y'\n", "unknown key 'skill.voice'"),
        ("[matcher]\nthreshold = 'high'\n", "key 'matcher.threshold'"),
        ("[sessions]\nidle_timeout_s = -1\n", "key 'sessions.idle_timeout_s'"),
        ("[wat]\n", "unknown key 'wat'"),
        ("[skill\n", "not valid TOML"),
        # more streams than the recognizer admits would lose questions at the advertised capacity
        ("[server]\nmax_streams = 20\n", "max_streams (20) is more than the recognizer admits"),
        ("[stt]\nmax_queued_decodes = 2\n", "max_streams (8) is more than the recognizer admits"),
        ("[server]\nmax_utterances_per_client = 16\n", "max_utterances_per_client (16) must be less than"),
    ],
)
def test_bad_config_stops_with_one_line_naming_file_and_key(tmp_path: Path, config: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(config)
    out = run("--config", str(path), "ask", "what is b12")
    assert out.returncode == 2
    err = out.stderr.decode()
    assert err.count("\n") == 1 and str(path) in err and message in err, err
    assert "Traceback" not in err


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    out = run("--config", str(tmp_path / "nope.toml"), "ask", "hi")
    assert out.returncode == 2 and b"nope.toml: config file not found" in out.stderr


def test_project_config_is_valid_and_used_by_default() -> None:
    from skill.config import PROJECT_ROOT, load_settings

    settings = load_settings(PROJECT_ROOT / "config.toml")
    assert settings.skill.reminder.endswith("doctor.")
    assert settings.server.host == "127.0.0.1"


@pytest.mark.parametrize(
    "order",
    [
        lambda cfg: ["--config", cfg, "ask", "what is b12", "--json"],
        lambda cfg: ["ask", "--config", cfg, "what is b12", "--json"],
        lambda cfg: ["ask", "what is b12", "--json", "--config", cfg, "-v"],
        lambda cfg: ["-v", "ask", "what is b12", "--config", cfg, "--json"],
    ],
    ids=["before", "after the subcommand", "at the end", "split"],
)
def test_global_options_work_before_or_after_the_subcommand(tmp_path: Path, order: Any) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[skill]\nreminder = "Ask your own doctor, please."\n')
    out = run(*order(str(path)))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["text"].endswith("Ask your own doctor, please.")


def test_config_given_twice_the_one_after_the_subcommand_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    first.write_text('[skill]\nreminder = "First reminder here."\n')
    second.write_text('[skill]\nreminder = "Second reminder here."\n')
    out = run("--config", str(first), "ask", "--config", str(second), "what is b12")
    assert out.returncode == 0 and out.stdout.decode().strip().endswith("Second reminder here.")


def test_start_up_problems_are_one_line_and_exit_2(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = run("serve", "--port", str(port), "--wyoming-port", "0")
    err = out.stderr.decode()
    assert out.returncode == 2 and "cannot listen" in err and "address already in use" in err, err
    assert "Traceback" not in err
    for bad in ("99999", "-5", "http"):
        out = run("serve", "--port", bad)
        err = out.stderr.decode()
        assert out.returncode == 2 and "is not a port number" in err and len(err.strip().splitlines()) == 1, err
    binary = tmp_path / "config.toml"
    binary.write_bytes(b"\xff\xfe[skill]\n")
    out = run("--config", str(binary), "ask", "hi")
    assert (
        out.returncode == 2
        and out.stderr.decode().strip() == f"b12-skill: {binary}: not UTF-8 text (a TOML file must be)"
    )
