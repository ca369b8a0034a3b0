"""Atlas Images: finding them, cutouts and mosaics, pictures (docs/images.md)."""
