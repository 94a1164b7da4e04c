"""Huzhou RAG: cited, verified answers over news about Huzhou's development."""

__version__ = "0.1.0"
