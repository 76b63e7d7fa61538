"""Univers Studio (the Mystery Mosaic API): coloring pages, color-by-number and mystery mosaics, and AI images."""
