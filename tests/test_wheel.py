"""The wheel is the product: built, installed into a fresh virtualenv outside the source tree, it serves
the web page and answers, with its own data files and the built-in default settings."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import urllib.request
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    # Built from a copy of the tracked files: setuptools' build/ folder in the checkout could carry
    # modules deleted since, and the build must not write into the source tree.
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    source = tmp / "source"
    for name in filter(None, listed.decode().split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp), str(source)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    wheel = next(tmp.glob("b12_skill-*.whl"))
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # The dependencies come from this environment's site-packages (a plain path line: its .pth files,
    # among them this checkout's editable install, are not read); the project itself only from the wheel.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return env_dir


def test_the_installed_package_is_the_wheel_not_this_checkout(installed: Path, tmp_path: Path) -> None:
    out = subprocess.run(
        [str(installed / "bin" / "python"), "-c", "import skill, intents, handlers; print(skill.__file__)"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    )
    assert str(installed) in out.stdout and str(ROOT) not in out.stdout


def test_installed_b12_skill_serves_the_page_and_answers(installed: Path, tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("B12_SKILL_CONFIG", None)
    with subprocess.Popen(
        [str(installed / "bin" / "b12-skill"), "serve", "--port", "0", "--wyoming-port", "0"],
        cwd=tmp_path,  # no config.toml here: the built-in defaults
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            deadline = time.monotonic() + 120
            line = ""
            while "open http://" not in line:
                assert time.monotonic() < deadline and proc.poll() is None, "b12-skill serve did not start"
                line = proc.stdout.readline()
            url = line.split("open ", 1)[1].split()[0]
            with urllib.request.urlopen(url, timeout=10) as page:
                assert page.status == 200 and b"<html" in page.read().lower()
            with urllib.request.urlopen(url + "static/app.js", timeout=10) as script:
                assert script.status == 200
            ask = urllib.request.Request(
                url + "v1/ask",
                data=json.dumps({"text": "can b12 make me ache"}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(ask, timeout=30) as reply:
                answer = json.loads(reply.read())
            assert answer["text"].startswith("Yes") and answer["text"].endswith("please check with your doctor.")
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_the_shipped_config_toml_says_what_the_built_in_defaults_say() -> None:
    # An installed wheel with no config.toml around runs on the defaults: they must be the shipped file.
    from skill.config import Settings, load_settings

    shipped = load_settings(ROOT / "config.toml").model_dump(exclude={"source"})
    assert shipped == Settings().model_dump(exclude={"source"})
