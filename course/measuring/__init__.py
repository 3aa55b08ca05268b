"""Measuring: the numbers notebooks, graders and ``course bench`` show.

Owns: queries, SQL and latency per page (``measure``), query plans
(``plans``), whole-project comparisons in separate processes (``bench``),
throughput under a real app server and load generator (``load``), blocking
vs queued work (``queueing``), and the shop's page list (``pages``).
"""
