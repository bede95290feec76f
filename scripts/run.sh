#!/usr/bin/env bash
# The main job on the embedded defaults (no model download): set up, then start the skill.
# Extra arguments go to `b12-skill run`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/b12-skill run "$@"
