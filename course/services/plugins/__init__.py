"""Service plug-ins: one module per service, each exposing ``SERVICE``.

To add a service, add a module here (and its test); see MAINTAINERS.md.
"""
