"""Cadre benchmarks: `python -m bench`. Figures, not pass/fail."""
