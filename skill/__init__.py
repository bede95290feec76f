"""The B12 voice skill runtime: config, events, pipeline, sessions, speech in and out, servers, CLI."""
