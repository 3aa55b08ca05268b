"""The learner's project and the reference states built from it.

Owns: building a project state (the starter as shipped plus the solution
steps up to an exercise or chapter), the solution steps themselves (one
patch per exercise), marker regions that tell whose code a line is, ``apply``
and ``reset`` with backups, solution diffs, running ``manage.py`` and setting
Django up in-process for a state. Depends on ``services`` and the base
modules only.
"""
