"""Every settings table of config.toml, one module each (skill/config.py joins them).

They import nothing of the project, so any layer may read its own table."""
