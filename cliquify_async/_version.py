"""The version of cliquify-async, in the one place it lives: the build reads it from here."""

__version__ = "0.2.0.dev0"
"""The version (PEP 440); also sent in the User-Agent."""
