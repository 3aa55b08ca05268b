"""Product pictures: the thumbnail the product list shows."""

from io import BytesIO
from pathlib import PurePosixPath

from django.core.files.base import ContentFile
from PIL import Image

THUMBNAIL_BOX = (320, 320)  # the largest a thumbnail may be, in pixels; the shape is kept


def make_thumbnail(product):
    """Write a small copy of ``product.image`` to ``product.thumbnail`` and save it."""
    # TODO(07.6): the product list needs each thumbnail's size too, and must not open the file
    # in the object store to learn it on every render.
    with product.image.open("rb") as original, Image.open(original) as picture:
        picture.thumbnail(THUMBNAIL_BOX)
        keeps_transparency = picture.mode in ("RGBA", "LA", "P")
        picture = picture.convert("RGBA" if keeps_transparency else "RGB")
        output = BytesIO()
        kind = "PNG" if keeps_transparency else "JPEG"
        picture.save(output, kind, **({} if keeps_transparency else {"quality": 85}))
    stem = PurePosixPath(product.image.name).stem
    suffix = ".png" if kind == "PNG" else ".jpg"
    product.thumbnail.save(f"{stem}-thumbnail{suffix}", ContentFile(output.getvalue()),
                           save=False)
    product.save(update_fields=["thumbnail"])
