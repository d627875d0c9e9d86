"""Scheduling domain: plain Python rules and calculations, no I/O."""
