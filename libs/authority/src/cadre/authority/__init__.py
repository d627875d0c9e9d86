"""Delegated authority, as plain Python: grants, delegation rules and decisions.

Roster decides with it and owns the grants; other services keep a copy of the grants
built from roster's events and decide with the same code, so every service gives the
answer roster's `Authorize` would.
"""
