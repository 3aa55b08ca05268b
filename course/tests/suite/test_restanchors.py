"""The anchors worked out from reST match the ids Sphinx gives (small samples of each form)."""

from __future__ import annotations

from textwrap import dedent

from course.suite import restanchors
from course.suite.restanchors import CELERY, DJANGO, PLAIN, Dialect


def anchors(text: str, dialect: Dialect = PLAIN, **files: str) -> set[str]:
    return restanchors.anchors(dedent(text), dialect, files.get).anchors


def test_section_titles_are_named_by_the_text_readers_see() -> None:
    found = anchors("""
        ``select_related()``
        ~~~~~~~~~~~~~~~~~~~~

        ``Prefetch()`` objects
        ----------------------

        Using :class:`~django.db.models.Prefetch` with *care*
        =====================================================

        The 2nd `per-view <https://example.com>`_ cache!
        ================================================
        """)
    assert {"select-related", "prefetch-objects", "using-prefetch-with-care",
            "the-2nd-per-view-cache"} <= found


def test_overlined_titles_and_the_first_of_equal_titles() -> None:
    found = anchors("""
        ==========
         Overview
        ==========

        Redis
        -----

        Redis
        -----
        """)
    assert found == {"overview", "redis"}


def test_a_title_that_skips_a_level_makes_no_section() -> None:
    found = anchors("""
        Change history
        ==============

        5.7.0
        =====

        Fixes
        -----

        Details
        ~~~~~~~

        5.7.0rc1
        ========

        Bug fixes
        ~~~~~~~~~
        """)
    # "5.7.0" has no id of its own (docutils drops leading digits); "~" under "=" skips "-".
    assert found == {"change-history", "fixes", "details", "rc1"}


def test_django_gives_each_section_a_second_id() -> None:
    assert anchors("Basic usage\n===========\n", DJANGO) == {"basic-usage", "s-basic-usage"}


def test_django_sections_take_in_the_targets_just_before_them() -> None:
    found = anchors("""
        Title
        =====

        .. module:: django.core.cache

        .. _cache-setting:

        .. setting:: CACHES

        ``CACHES``
        ----------

        .. _in-text:

        A paragraph.

        Later
        -----
        """, DJANGO)
    assert {"s-module-django.core.cache", "s-cache-setting", "s-std-setting-CACHES", "s-caches",
            "s-later", "in-text"} <= found
    assert "s-in-text" not in found


def test_labels_become_docutils_ids() -> None:
    found = anchors("""
        .. _cache_arguments:

        Cache arguments
        ---------------

        .. _`Quoted: label`:

        Some text with an _`inline target`.

        .. _external: https://example.com/
        """)
    assert {"cache-arguments", "quoted-label", "inline-target"} <= found
    assert "external" not in found


def test_python_objects_take_the_module_and_class_around_them() -> None:
    found = anchors("""
        .. currentmodule:: django.db.models.query

        .. class:: QuerySet(model=None, query=None)

            .. method:: all()

            .. attribute:: QuerySet.ordered

        .. currentmodule:: django.db.models.query.QuerySet

        ``select_related()``
        ~~~~~~~~~~~~~~~~~~~~

        .. method:: select_related(*fields)
                    aselect_related(*fields)

        .. module:: django.core.cache
           :synopsis: the cache

        .. data:: cache

        .. function:: get_cache(name) -> BaseCache
           :module: elsewhere

        .. currentmodule:: None

        .. exception:: Oops
        """)
    assert {
        "django.db.models.query.QuerySet",
        "django.db.models.query.QuerySet.all",
        "django.db.models.query.QuerySet.ordered",
        "django.db.models.query.QuerySet.select_related",
        "django.db.models.query.QuerySet.aselect_related",
        "module-django.core.cache",
        "django.core.cache.cache",
        "elsewhere.get_cache",
        "Oops",
    } <= found
    assert "django.db.models.query.select_related" not in found
    assert "django.db.models.query.all" not in found


def test_a_class_context_ends_with_its_body() -> None:
    found = anchors("""
        .. class:: Task

            .. attribute:: acks_late

        .. attribute:: Task.max_retries

        .. method:: retry()
        """)
    assert {"Task", "Task.acks_late", "Task.max_retries", "retry"} <= found
    assert "Task.retry" not in found


def test_a_prefixed_object_puts_its_body_inside_the_prefix() -> None:
    found = anchors("""
        .. attribute:: ModelAdmin.show_facets

            .. class:: ShowFacets

                .. attribute:: ALWAYS

        * .. attribute:: CASCADE

            Cascade deletes.
        """)
    assert {"ModelAdmin.show_facets", "ModelAdmin.ShowFacets", "ModelAdmin.ShowFacets.ALWAYS",
            "CASCADE"} <= found


def test_objects_marked_noindex_have_no_anchor() -> None:
    found = anchors(".. function:: f()\n   :noindex:\n\n.. object:: plain\n\n"
                    ".. setting:: X\n   :no-index:\n", DJANGO)
    assert found == set()


def test_django_settings_tags_filters_and_lookups() -> None:
    found = anchors("""
        .. setting:: INTERNAL_IPS

        ``INTERNAL_IPS``
        ----------------

        .. templatetag:: cache

        .. templatefilter:: date

        .. fieldlookup:: lt

        ``lt``
        ~~~~~~
        """, DJANGO)
    assert {"std-setting-INTERNAL_IPS", "internal-ips", "std-templatetag-cache",
            "std-templatefilter-date", "std-fieldlookup-lt", "lt"} <= found
    # Sphinx 4 also gave "std:setting-INTERNAL_IPS"; the docs are built with a current one.
    assert "std:setting-INTERNAL_IPS" not in found


def test_a_link_role_in_a_title_shows_its_address() -> None:
    assert anchors(":pypi:`supervisor`\n==================\n", CELERY) == {
        "https-pypi-org-project-supervisor"}


def test_celery_settings_keep_underscores() -> None:
    found = anchors(".. setting:: task_acks_late\n\n.. signal:: task_success\n", CELERY)
    assert {"std-setting-task_acks_late", "std-signal-task_success"} <= found


def test_commands_and_their_options() -> None:
    found = anchors("""
        .. django-admin:: migrate [app_label] [migration_name]

        .. django-admin-option:: --fake

        .. django-admin-option:: --database DATABASE

        .. program:: celery worker

        .. option:: -c, --concurrency

        .. option:: -A

        .. program:: dbshell

        .. option:: --

        .. envvar:: DJANGO_SETTINGS_MODULE
        """, DJANGO)
    assert {"django-admin-migrate", "cmdoption-migrate-fake", "cmdoption-migrate-database",
            "cmdoption-celery-worker-c", "cmdoption-celery-worker-concurrency",
            "cmdoption-celery-worker-A", "envvar-DJANGO_SETTINGS_MODULE"} <= found
    assert "cmdoption-dbshell" not in found  # Sphinx numbers an option with no name


def test_code_literal_blocks_and_comments_make_no_anchors() -> None:
    found = anchors("""
        Write this::

            .. _in-a-literal-block:

        .. code-block:: rst

            .. _in-a-code-block:

            Title in code
            =============

        .. this is a comment
           .. _in-a-comment:

        .. note::

            .. _in-a-note:

            Text.
        """)
    assert found == {"in-a-note"}


def test_a_title_whose_id_is_taken_gets_none() -> None:
    found = anchors("""
        Read `Redis <https://redis.io/>`_ first, or the PROJ_ docs.

        .. _PROJ: https://proj.org/

        .. _`Sandboxing`:
            https://en.wikipedia.org/wiki/Sandbox_(computer_security)

        Redis
        -----

        PROJ
        ----

        Sandboxing
        ----------

        Footnotes [#fnsrid]_.

        .. [#fnsrid] A footnote.
        .. [CIT2002] A citation.
        """)
    assert found == {"fnsrid", "cit2002"}


def test_included_files_add_their_anchors() -> None:
    found = anchors("""
        .. include:: ../includes/intro.txt
        """, **{"includes/intro.txt": ".. _intro:\n\nIntro\n=====\n"})
    assert {"intro"} <= found


def test_glossary_terms() -> None:
    found = anchors("""
        .. glossary::

            field
                An attribute on a model.

            MTV
                See the FAQ.
        """)
    assert {"term-field", "term-MTV"} <= found


def test_members_of_objects_documented_from_code_are_unknown() -> None:
    page = restanchors.anchors(dedent("""
        .. currentmodule:: celery.app.task

        .. autoclass:: Task
            :members:
        """))
    assert "celery.app.task.Task" in page.anchors
    assert page.documents_from_code("celery.app.task.Task.retry")
    assert not page.documents_from_code("celery.app.Other")


def test_ids() -> None:
    assert restanchors.docutils_id("``Prefetch()`` objects") == "prefetch-objects"
    assert restanchors.docutils_id("2. Étape finale") == "etape-finale"
    assert restanchors.sphinx_id("std:setting-CACHES") == "std-setting-CACHES"
    assert restanchors.label_id("redis-visibility_timeout") == "redis-visibility-timeout"
    assert restanchors.shown_text(":meth:`QuerySet.only() <x>` and :ref:`!nolink`") == \
        "QuerySet.only() and nolink"


def test_javascript_objects() -> None:
    assert anchors(".. js:function:: djdt.close()\n\n.. js:attribute:: djdt.cookie\n") == {
        "djdt.close", "djdt.cookie"}
