"""The survey's sky geometry: scan and tile footprints and the tile grid.

A bottom layer: loaders, operations, the language and the web use it, and so does the
synthetic survey (``catscan.survey``), which production code never imports.
"""
