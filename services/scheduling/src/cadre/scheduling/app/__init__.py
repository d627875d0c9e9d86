"""Scheduling use cases: functions with keyword-only arguments over the ports in `ports.py`."""
