"""Fakes of the platforms' REST APIs, served over real HTTP on loopback (tests/fakes/apis.py)."""
