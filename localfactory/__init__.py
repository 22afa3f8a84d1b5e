"""localfactory: a local-first, offline software factory."""

__version__ = "0.1.0"
