"""Benchmarks: one module per benchmark, results committed in bench/results/.

Run each from the repository root as a module, e.g. `.venv/bin/python -m bench.retrieval`
(`make bench` runs all four); that is how a benchmark imports the shared helpers:

common.py     paths, timing, latency percentiles (numpy), machine load, memory, results files
synthetic.py  the synthetic guideline corpus (sentence bank, documents, precomputed vectors)
              and loading it into an index through `PassageIndex.add_many`
ingest.py     ingest throughput on the VA/DoD PDF against raw encoding
retrieval.py  hybrid search latency at 10k and 100k passages against the LangChain peer
drafting.py   the drafting chain's steps over retrieval on the demo cases
scale.py      how ingest, latency, memory and disk grow from 10k to 1M passages
"""
