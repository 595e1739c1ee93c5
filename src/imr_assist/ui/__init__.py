"""Streamlit page components. `app.py` is a thin shell that calls these."""
