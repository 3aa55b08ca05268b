"""`python manage.py seed_shop --scale medium`: fill the shop with generated data."""

import time

from django.conf import settings
from django.core.cache import caches
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from shop.seed import SCALES, seed_shop


class ProgressBar:
    """A text progress bar per table, redrawn in place on a terminal.

    When the output is not a terminal (a log file, CI) only the finished
    line of each table is written.
    """

    def __init__(self, stream, width=30):
        self.stream = stream  # a command's self.stderr
        self.width = width
        self.table = None
        self.interactive = stream.isatty()

    def __call__(self, table, done, total):
        if not self.interactive and done < total:
            return
        if self.table is not None and table != self.table and self.interactive:
            self.stream.write("")
        self.table = table
        filled = self.width * done // max(total, 1)
        bar = "#" * filled + "." * (self.width - filled)
        line = f"  {table:<13} [{bar}] {done:>9,}/{total:,}"
        if self.interactive:
            self.stream.write(f"\r{line}", ending="")
            self.stream.flush()
        else:
            self.stream.write(line)

    def close(self):
        if self.table is not None and self.interactive:
            self.stream.write("")


class Command(BaseCommand):
    help = "Replace the shop's data with generated data (the same data for a given --seed)."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=list(SCALES), default="small")
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, scale, seed, verbosity, **options):
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError("the database has unapplied migrations: run "
                               "`python manage.py migrate` first")
        started = time.monotonic()
        progress = None
        if verbosity > 0:
            self.stderr.style_func = None  # progress is not an error: no red
            self.stderr.write(f"Seeding the shop at scale {scale!r} (seed {seed}) …")
            progress = ProgressBar(self.stderr)
        counts = seed_shop(scale, seed=seed, progress=progress)
        if progress:
            progress.close()
        # Every cached page and fragment describes the data that was just replaced.
        for alias in settings.CACHES:
            caches[alias].clear()
        elapsed = time.monotonic() - started
        summary = ", ".join(f"{count:,} {table}" for table, count in counts.items())
        self.stdout.write(f"Seeded {summary} in {elapsed:.1f} s.")
