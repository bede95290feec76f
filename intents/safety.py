"""Names of the safety outcomes (the rules themselves are data: safety.toml, read by reading.py)."""

from __future__ import annotations

EMERGENCY = "emergency"
OUT_OF_SCOPE = "out_of_scope"
DOSE = "dose_question"
