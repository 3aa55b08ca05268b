"""A project's URLs, with ``/course-query/?seconds=S`` ahead of them: a query of S seconds in
its database (see :mod:`course.measuring.connection_settings`)."""

from django.urls import include, path

from course.measuring.floor_views import query

urlpatterns = [path("course-query/", query), path("", include("config.urls"))]
