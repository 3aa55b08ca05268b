"""Getting a machine ready: the ``.venv`` bootstrap, ``doctor`` and ``lab``.

``bootstrap`` runs under whatever ``python3`` the learner has, before
``.venv`` exists, so it uses the standard library only; ``doctor`` checks the
machine and every registered service; ``lab`` starts the services, prepares
the database and opens JupyterLab.
"""
