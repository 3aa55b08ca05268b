"""A project's URLs, with the trivial view at ``/course-floor/`` ahead of them: what
:mod:`course.measuring.middleware` times each middleware on."""

from django.urls import include, path

from course.measuring.floor_views import ok

urlpatterns = [path("course-floor/", ok), path("", include("config.urls"))]
