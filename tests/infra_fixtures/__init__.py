"""Importable helpers for the infrastructure-check tests (trainers, feature code, models).

Subprocess-based checks import these by ``"infra_fixtures.module:name"``; the tests folder is
on ``sys.path`` under pytest, and the checks pass ``sys.path`` on to the fresh interpreter.
"""
