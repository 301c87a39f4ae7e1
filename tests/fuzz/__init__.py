"""Fuzzing the cassette loader: inputs (yamlish), the fast-reader oracle, make fuzz."""
