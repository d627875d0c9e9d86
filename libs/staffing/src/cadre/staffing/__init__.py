"""Queueing math shared by the services that plan people against contact load.

Scheduling computes requirements and coverage with it; training projects the service level
a session would cost. Plain NumPy/SciPy, no I/O.
"""
