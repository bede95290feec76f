"""Baselines the skill's own matcher is measured against (same intent data, no safety layer)."""
