"""Verification: every sentence of a draft checked against the passages it cites.

verify.py  `verify(text, evidence)` -> `VerificationReport`
"""
