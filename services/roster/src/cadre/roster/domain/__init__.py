"""Roster rules: plain Python, no I/O."""
