"""A small JSON API for the shop's partners: plain views returning JSON, one module per
resource (see shop/api_urls.py)."""
