"""Pictures for the graders that upload one (07.5, 07.6, 11.6): made, and found on a page."""

from __future__ import annotations

import html
import re
from pathlib import Path


def noisy_png(seed: int, size: tuple[int, int] = (1200, 900)) -> bytes:
    """A PNG that compresses poorly (a photo's weight, not a flat colour's)."""
    import io
    import random

    from PIL import Image

    noise = random.Random(seed).randbytes(size[0] * size[1] * 3)
    output = io.BytesIO()
    Image.frombytes("RGB", size, noise).save(output, "PNG", compress_level=1)
    return output.getvalue()


def shown(page: str, stored_name: str) -> list[str]:
    """The addresses of the page's pictures named like ``stored_name`` (its stem: a storage
    may add a suffix, a thumbnail its size)."""
    stem = Path(stored_name).stem
    return [html.unescape(src) for src in re.findall(r'<img[^>]*\ssrc="([^"]+)"', page)
            if stem in src]
