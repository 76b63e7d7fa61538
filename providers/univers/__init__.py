"""Univers Studio (the Mystery Mosaic API): coloring pages, color-by-number and mystery mosaics, and AI images.

`adapter` holds the operations; `inputs` their arguments; `pricing` the prices, cost texts and estimates; `wire` the
JSON answers; `simulator` a local imitation of the service.
"""
