"""The shop's reads: what a page shows, asked with keyword arguments, without a request.

A selector takes plain values (a slug, a page number), never the request, and returns
everything the template needs, loaded in a number of queries that does not grow with the
data. A view reads the request, calls a selector and renders; a test, a management
command or a Celery task can call the same selector.
"""

# TODO(13.1): catalogue_page(*, category=None, page=None): the catalogue's context, as the
# product list view (shop/views/product_list.py) builds it, in a fixed number of queries;
# the view calls it.
