"""``course test``: the project's whole test suite, the command CI runs.

Owns: the parts (lint, tooling tests, the shop's tests, the fail-before /
pass-after proof on SQLite and PostgreSQL, notebooks), running them side by
side within the machine's cores, and the table of wall time per part.
"""
