"""Helpers for Jupyter notebooks: ``setup_django()`` in a kernel, ``exercise("NN.M")`` handles
that check, hint and show solutions inline without ever raising, and the generator of
each notebook's navigation cells."""
