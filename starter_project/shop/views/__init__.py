"""The shop's HTML pages and downloads, one module per page (see shop/urls.py)."""
