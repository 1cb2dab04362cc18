"""Streamlit helpers shared by the pages (the only package besides pages/ that imports streamlit).

Imports flow one way: pages/ -> ui/ -> analysis/ -> muser_core/.
"""
