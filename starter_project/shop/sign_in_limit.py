"""Sign-ins from an address that keeps failing are refused for a while.

Guessing a password takes many tries. Once SIGN_IN_FAILURES_ALLOWED sign-ins from one
address have failed within SIGN_IN_LOCKOUT_SECONDS, that address's next tries get a 429
with Retry-After, whatever the password, until the oldest failure is that old: guessing
becomes slow, and a person who mistyped waits a few minutes at most.

The address is ``REMOTE_ADDR``: behind the balancer, the production settings' middleware
(11.3) puts the visitor's own there.
"""

import math
import time
from functools import wraps

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.shortcuts import render

# TODO(11.6): counted in this process's memory. Behind the balancer, each app server (and
# each worker process of each) keeps its own count, so a visitor who spreads the guesses
# over them gets the limit once per process, and a restart forgets every count.
_failures: dict[str, list[float]] = {}


def _recent_failures(address):
    """When this address's failures of the last SIGN_IN_LOCKOUT_SECONDS happened."""
    since = time.time() - settings.SIGN_IN_LOCKOUT_SECONDS
    recent = [when for when in _failures.get(address, ()) if when > since]
    _failures[address] = recent
    return recent


@receiver(user_login_failed)
def count_failure(sender, credentials, request=None, **kwargs):
    """Django sends this signal for each sign-in whose password (or user) is wrong."""
    if request is not None:
        _recent_failures(request.META["REMOTE_ADDR"]).append(time.time())


def seconds_refused(request):
    """For how many more seconds this request's address is refused (0: it may try)."""
    failures = _recent_failures(request.META["REMOTE_ADDR"])
    if len(failures) < settings.SIGN_IN_FAILURES_ALLOWED:
        return 0
    return max(1, math.ceil(failures[0] + settings.SIGN_IN_LOCKOUT_SECONDS - time.time()))


def limit_sign_in(view):
    """Refuse a sign-in (a POST) from an address that failed too often; let the rest through."""

    @wraps(view)
    def limited(request, *args, **kwargs):
        if request.method == "POST":
            wait = seconds_refused(request)
            if wait:
                response = render(request, "shop/sign_in_limited.html",
                                  {"minutes": math.ceil(wait / 60)}, status=429)
                response["Retry-After"] = str(wait)
                return response
        return view(request, *args, **kwargs)

    return limited
