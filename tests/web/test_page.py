"""The push-to-talk page in real headless Chromium against the real server (skill.server.create_app
with its web page) on an ephemeral port: a spoken question (a WAV fed as the fake microphone)
and a typed one are answered on the page, and the answers' audio plays."""

from __future__ import annotations

import asyncio
import io
import shutil
import subprocess
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio
from aiohttp import ClientSession, web

from skill.app import Skill, build_skill
from skill.config import Settings
from skill.server.http import create_app
from skill.settings.server import ServerSettings

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = pytest.mark.asyncio(loop_scope="module")
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
QUESTION = "do b twelve shots make you sore"
T = 20.0


def padded_wav(text: str, out: Path, pad_s: float = 0.5) -> float:
    """espeak-ng speech with silence around it (the fake capture can miss its first 0.3 s); returns seconds."""
    raw = out.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text], check=True, timeout=30)
    with wave.open(str(raw), "rb") as w:
        rate, frames = w.getframerate(), w.readframes(w.getnframes())
    pad = bytes(2 * int(rate * pad_s))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pad + frames + pad)
    out.write_bytes(buf.getvalue())
    return (len(frames) + 2 * len(pad)) / 2 / rate


def chromium_args(wav: Path) -> list[str]:
    """Headless Chromium with the WAV as its microphone (flags measured in DESIGN.md)."""
    return [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}%noloop",
        "--autoplay-policy=no-user-gesture-required",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
    ]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def skill() -> AsyncIterator[Skill]:
    built: Skill = await asyncio.to_thread(build_skill, Settings())
    await asyncio.wait_for(built.speech(), T)
    yield built
    await asyncio.wait_for(built.close(), T)


async def serve(skill: Skill, **server: object) -> tuple[str, web.AppRunner]:
    settings = Settings(server=ServerSettings(port=0, rate_per_minute=100000, rate_burst=100000, **server))  # type: ignore[arg-type]
    runner = web.AppRunner(create_app(settings, skill), handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return f"http://127.0.0.1:{runner.addresses[0][1]}", runner


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def base(skill: Skill) -> AsyncIterator[str]:
    url, runner = await serve(skill)
    yield url
    await asyncio.wait_for(runner.cleanup(), T)


async def test_static_routes_serve_the_page_without_external_resources(base: str) -> None:
    async with ClientSession() as http:
        async with http.get(f"{base}/") as res:
            html = await res.text()
            assert res.status == 200 and "default-src 'self'" in res.headers["Content-Security-Policy"]
        for name in ("app.js", "style.css", "capture-worklet.js"):
            async with http.get(f"{base}/static/{name}") as res:
                assert res.status == 200, name
                body = await res.text()
            assert "http://" not in body and "https://" not in body, f"{name} must not fetch anything remote"
    assert "http://" not in html and "https://" not in html
    assert 'for="question"' in html and 'aria-live="polite"' in html


@pytest.fixture
def question(tmp_path: Path) -> tuple[Path, float]:
    if not Path(CHROMIUM).exists() or shutil.which("espeak-ng") is None:
        pytest.fail("chromium and espeak-ng are needed for the browser test")
    return tmp_path / "q.wav", padded_wav(QUESTION, tmp_path / "q.wav")


async def test_spoken_and_typed_questions_in_chromium(base: str, tmp_path: Path, question: tuple[Path, float]) -> None:
    from playwright.async_api import async_playwright

    wav, seconds = question
    args = chromium_args(wav)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch_persistent_context(
            # bypass_csp: Playwright evaluates its wait conditions as strings, which the page's CSP forbids
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            args=args,
            headless=True,
            bypass_csp=True,
        )
        try:
            page = browser.pages[0] if browser.pages else await browser.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda e: problems.append(str(e)))
            await page.goto(f"{base}/", timeout=T * 1000)
            assert await page.text_content("#state") == "idle"

            # Spoken: hold Space for as long as the "microphone" file plays, then let go.
            await page.locator("body").click(position={"x": 5, "y": 5})
            await page.keyboard.down("Space")
            await page.wait_for_function("window.b12.state === 'listening'", timeout=T * 1000)
            await asyncio.sleep(seconds + 0.5)
            await page.keyboard.up("Space")
            await page.wait_for_function("window.b12.answers.length === 1", timeout=T * 1000)
            spoken = await page.evaluate("window.b12.answers[0]")
            assert await page.evaluate("window.b12.maxLevel") > 0.05  # the file's samples really arrived
            assert "shot" in spoken["transcript"], spoken
            assert spoken["intent"] == "injection_aches" and spoken["facts"]
            assert "doctor" in (await page.text_content("#reminder") or "")
            assert spoken["facts"][0] in (await page.text_content("#facts") or "")
            await page.wait_for_function("window.b12.audioPlaying >= 1", timeout=T * 1000)
            assert await page.text_content("#state") == "speaking"
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "web-page-spoken.png"), full_page=True)

            # Typed, on the same session: the page keeps one session id for both.
            await page.fill("#question", "can b twelve make me ache")
            await page.click("button[type=submit]")
            await page.wait_for_function("window.b12.answers.length === 2", timeout=T * 1000)
            typed = await page.evaluate("window.b12.answers[1]")
            assert typed["session"] == spoken["session"] == await page.evaluate("window.b12.session")
            assert typed["facts"] and "doctor" in typed["text"]
            await page.wait_for_function("window.b12.audioPlaying >= 2", timeout=T * 1000)
            await page.screenshot(path=str(ARTIFACTS / "web-page-typed.png"), full_page=True)
            assert problems == []
        finally:
            await browser.close()


async def speak_then_type(page: Page, seconds: float) -> None:
    """Hold Space while the "microphone" file plays, then type a question; both answered on the page.
    Waits use selectors (Playwright's isolated world), so they work under the page's real CSP."""
    await page.locator("body").click(position={"x": 5, "y": 5})
    await page.keyboard.down("Space")
    await page.wait_for_selector("#state[data-state=listening]", timeout=T * 1000)
    await asyncio.sleep(seconds + 0.5)
    await page.keyboard.up("Space")
    await page.wait_for_selector("#answer-box:not([hidden])", timeout=T * 1000)
    assert "injections" in (await page.text_content("#answer-text") or "")
    await page.fill("#question", "what is pernicious anemia")
    await page.click("button[type=submit]")
    await page.wait_for_selector("#answer-text:has-text('pernicious anemia')", timeout=T * 1000)


async def test_the_page_works_under_its_own_content_security_policy(
    base: str, tmp_path: Path, question: tuple[Path, float]
) -> None:
    """No bypass here: waits use selectors (Playwright's isolated world), so the real CSP is enforced."""
    from playwright.async_api import async_playwright

    wav, seconds = question
    args = chromium_args(wav)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=args, headless=True
        )
        try:
            page = browser.pages[0] if browser.pages else await browser.new_page()
            blocked: list[str] = []
            page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
            page.on("pageerror", lambda e: blocked.append(str(e)))
            await page.goto(f"{base}/", timeout=T * 1000)
            await speak_then_type(page, seconds)
            assert blocked == []
        finally:
            await browser.close()


async def test_with_a_token_the_page_asks_once_and_sends_it_everywhere(
    skill: Skill, tmp_path: Path, question: tuple[Path, float]
) -> None:
    from playwright.async_api import Dialog, async_playwright

    token = "kitchen-token-0123456789"
    url, runner = await serve(skill, token=token)
    wav, seconds = question
    asked: list[str] = []

    async def answer_prompt(dialog: Dialog) -> None:
        asked.append(dialog.message)
        await dialog.accept(token)

    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch_persistent_context(
                str(tmp_path / "profile"), executable_path=CHROMIUM, args=chromium_args(wav), headless=True
            )
            try:
                page = browser.pages[0] if browser.pages else await browser.new_page()
                page.on("dialog", lambda d: asyncio.ensure_future(answer_prompt(d)))
                urls: list[str] = []
                page.on("request", lambda r: urls.append(r.url))
                await page.goto(f"{url}/", timeout=T * 1000)
                await speak_then_type(page, seconds)
                await page.wait_for_selector("#state[data-state=speaking]", timeout=T * 1000)  # /v1/speech too
                assert len(asked) == 1 and "access token" in asked[0]  # asked once, kept for the tab
                assert not any(token in u for u in urls)  # never in a URL
            finally:
                await browser.close()
    finally:
        await asyncio.wait_for(runner.cleanup(), T)
