"""The shop's performance regression tests: each one fails when a change makes a page slower
in a way the other tests cannot see, long before a visitor does.

Run them with the rest of the shop's tests: ``python manage.py test shop`` (in starter_project/).
"""

# TODO(13.3): tests that catch a performance regression on the shop's pages (queries that grow
# with the data, a lost index, a cache that no longer hits) and pass on the shop as it is now.
