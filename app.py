"""MUSER stress lab: the Streamlit entry point. It only navigates; every page lives in ``pages/``.

Run with ``make run``. The overview (``pages/0_Overview.py``) opens first.

This file has two roles. ``streamlit run app.py`` finds the ``st.App`` below and
serves it: every HTTP request and websocket passes :class:`ui.server.HostCheck`
first, which refuses a foreign ``Host`` (DNS rebinding). Streamlit then runs this
same file as the app's script (its module is called ``__main__`` there), which
draws the navigation.
"""

from __future__ import annotations

import streamlit as st
from starlette.middleware import Middleware

from ui.server import HostCheck, use_app_navigation

if __name__ != "__main__":  # imported by `streamlit run` to be served
    use_app_navigation()
    app = st.App(__file__, middleware=[Middleware(HostCheck)])
else:  # the app's script, run by Streamlit for every session
    # Imported here, once the server runs: the pages' Streamlit caches look for its runtime when declared.
    from ui.common import FAVICON

    st.set_page_config(page_title="MUSER stress lab", page_icon=FAVICON, layout="wide")

    PAGES = {
        "": [st.Page("pages/0_Overview.py", title="Overview", icon=":material/home:", default=True)],
        "Indicators (paper section 3)": [
            st.Page("pages/1_Text_indicators.py", title="Text indicators", icon=":material/notes:"),
            st.Page("pages/2_Acoustic_indicators.py", title="Acoustic indicators", icon=":material/graphic_eq:"),
        ],
        "Multi-task training (sections 4-5)": [
            st.Page("pages/3_Train.py", title="Train", icon=":material/model_training:"),
            st.Page("pages/4_Sampling_dynamics.py", title="Sampling dynamics",
                    icon=":material/stacked_line_chart:"),
            st.Page("pages/5_Results.py", title="Results", icon=":material/table_chart:"),
        ],
        "Your voice": [st.Page("pages/6_Live_prediction.py", title="Live prediction", icon=":material/mic:"),
                       st.Page("pages/7_Segment.py", title="Segment a recording", icon=":material/content_cut:"),
                       st.Page("pages/8_Record_a_corpus.py", title="Record a corpus",
                               icon=":material/record_voice_over:")],
    }
    st.navigation(PAGES).run()
