"""Drafting: cited answers and determination-style rationales (offline composer, LLM drafter),
composed into one LCEL chain: retrieve -> order by authority -> draft -> verify."""
