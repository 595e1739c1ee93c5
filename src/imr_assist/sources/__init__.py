"""Readers: one module per kind of source (PDF, text/Markdown, letters, DMHC CSV, BEIR)."""
