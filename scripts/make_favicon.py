"""Render the app's favicon (ui/favicon.png) from the Material Symbols font that Streamlit ships.

A ``:material/...:`` page icon makes the browser fetch the favicon from
fonts.gstatic.com; a PNG served by the app itself keeps every page offline.
The glyph is Material Symbols Rounded "mic" (Apache License 2.0).

    .venv/bin/python scripts/make_favicon.py
"""

from __future__ import annotations

from pathlib import Path

import streamlit
from PIL import Image, ImageDraw, ImageFont

MIC = "\ue029"                   # the "mic" glyph's code point in Material Symbols
COLOUR = (255, 75, 75, 255)      # Streamlit's primary red
SIZE = 64
OUT = Path(__file__).resolve().parent.parent / "ui" / "favicon.png"


def main() -> None:
    media = Path(streamlit.__file__).parent / "static" / "static" / "media"
    font = ImageFont.truetype(str(next(media.glob("MaterialSymbols-Rounded*.woff2"))), SIZE)
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    ImageDraw.Draw(image).text((SIZE / 2, SIZE / 2), MIC, font=font, fill=COLOUR, anchor="mm")
    image.save(OUT, optimize=True)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
