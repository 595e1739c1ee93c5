"""Streamlit entry point: `streamlit run app.py`. A thin shell over imr_assist.ui."""

import streamlit as st

from imr_assist.ui.pages import navigation

st.set_page_config(page_title="imr-assist", layout="wide")
navigation().run()
