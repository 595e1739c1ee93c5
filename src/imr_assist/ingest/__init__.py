"""Ingest: files in, passages with locators out.

reader.py         dispatch by file type; `read_source(path) -> SourceDocument`
pdf.py            PDF pages with printed page labels
textfile.py       text and Markdown (decoding, YAML front matter, form-feed pages)
tabular.py        DMHC CSV rows and BEIR corpus.jsonl records
cleanup.py        repair of PDF-extraction damage (hyphenation, headers, spacing)
structure.py      sections, numbered recommendations and their printed strength
determination.py  IMR/UR determination letters -> items, decisions, guideline citations
injection.py      instructions addressed to a reader or a tool, kept out of evidence
chunking.py       passages that fit the encoder, with locators and citation ids
uploads.py        checks on files uploaded through the app
pipeline.py       the ingest run: read -> chunk -> embed -> store, one report per file
"""
