"""The trivial views (``course.measuring.floor_views``): ``/`` answers "ok"; ``/course-pid/``
names the worker process that answered (see ``floor_settings``)."""

from django.urls import path

from course.measuring.floor_views import ok, pid

urlpatterns = [path("", ok), path("course-pid/", pid)]
