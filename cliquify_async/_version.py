"""The installed version of cliquify-async."""

__version__ = "0.1.0"
"""The version of cliquify-async (PEP 440)."""
