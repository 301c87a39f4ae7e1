"""The pytest plugin: options, marker and fixtures (wiring only)."""
