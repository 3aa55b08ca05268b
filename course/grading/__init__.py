"""Grading: run an exercise's pytest graders against a project state and explain the result.

Owns: the grader (a pytest subprocess with time limits, per-exercise
verdicts), the pytest plug-in that records measured numbers, the verdict
tables, progress and the measurement ledger under ``.course/``.
"""
