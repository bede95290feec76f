#!/usr/bin/env bash
# Several skill instances on this machine sharing one MQTT broker (Hermes) and one Redis
# (conversations), all on loopback with a generated password. Usage: scripts/cluster.sh [N=3]
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m bench.fleet --cluster "${1:-3}"
