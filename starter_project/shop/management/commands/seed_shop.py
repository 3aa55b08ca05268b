"""`python manage.py seed_shop --scale medium`: fill the shop with generated data."""

import sys
import time

from django.core.management.base import BaseCommand

from shop.seed import SCALES, TextProgress, seed_shop


class Command(BaseCommand):
    help = "Replace the shop's data with generated data (deterministic for a given --seed)."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=list(SCALES), default="small")
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, scale, seed, **options):
        started = time.monotonic()
        self.stderr.write(f"Seeding the shop at scale '{scale}' …")
        progress = TextProgress(sys.stderr) if options["verbosity"] > 0 else None
        counts = seed_shop(scale, seed=seed, progress=progress)
        if progress:
            progress.close()
        summary = ", ".join(f"{count:,} {name}" for name, count in counts.items())
        self.stdout.write(f"Seeded {summary} in {time.monotonic() - started:.1f} s.")
