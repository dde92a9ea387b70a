"""Print pipeline for patient handouts: content -> variant -> HTML -> PDF."""

__version__ = "0.1.0"
