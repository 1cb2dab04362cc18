"""MUSER stress lab: the Streamlit entry point (navigation and the overview page).

Run with ``make run``. The pages in ``pages/`` do the work; the overview says
what the app is for and what data is loaded.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from muser_core.data.corpus import SPLITS
from ui.common import FAVICON, corpus_banner, corpus_source_ui, demo_available

st.set_page_config(page_title="MUSER stress lab", page_icon=FAVICON, layout="wide")


def overview() -> None:
    """What the app is for and what data is loaded."""
    st.title("MUSER stress lab")
    st.markdown(
        "Stress detection from speech, with emotion recognition (activation, valence) as an "
        "auxiliary task, after *MUSER* (Yao et al.). Explore which **words** and **voice "
        "features** mark stress and emotion, run the paper's **multi-task training** and watch "
        "its speed-based task sampling adapt, and **record your voice** to get a prediction."
    )

    if not demo_available():
        st.info("No data is loaded yet: the embedded demo corpus is not in this copy. "
                "Choose a MuSE copy or upload a CSV in the sidebar.")

    corpus = corpus_source_ui("overview")
    if corpus is None:
        return

    corpus_banner(corpus)
    table = corpus.table
    st.subheader(f"Loaded: {corpus.name}")
    cols = st.columns(4)
    cols[0].metric("Utterances", f"{len(table):,}")
    cols[1].metric("Speakers", table["speaker"].nunique())
    stress = table["stress"].dropna()
    cols[2].metric("Stressed share", f"{stress.mean():.0%}" if len(stress) else "n/a")
    cols[3].metric("With audio", f"{(table['audio_path'] != '').mean():.0%}")

    per_split = (table.groupby("split")
                 .agg(utterances=("utterance_id", "size"), speakers=("speaker", "nunique"),
                      stressed=("stress", lambda s: int((s == 1).sum())),
                      activation_mean=("activation", "mean"), valence_mean=("valence", "mean"))
                 .reindex(list(SPLITS)))
    st.dataframe(per_split, width="stretch")
    scales = ", ".join(f"{k} {lo:g}..{hi:g}" for k, (lo, hi) in corpus.label_scales.items())
    if scales:
        st.caption(f"Label scales (the data set's own): {scales}.")

    with st.expander("First rows of the canonical table"):
        st.dataframe(table.head(20), width="stretch")
    if corpus.skipped:
        with st.expander(f"{len(corpus.skipped)} skipped items"):
            st.dataframe(pd.DataFrame([vars(s) for s in corpus.skipped]), width="stretch")

    st.markdown(
        "**Pages** (sidebar): *Text indicators* and *Acoustic indicators* reproduce the paper's "
        "section 3 tables; *Train*, *Sampling dynamics* and *Results* run and compare the "
        "multi-task strategies of sections 4-5; *Live prediction* scores a voice clip."
    )
    st.caption("openSMILE features are used under audEERING's research licence (non-commercial). "
               "LIWC dictionaries are never shipped; the app reads your own `.dic` file.")


PAGES = {
    "": [st.Page(overview, title="Overview", icon=":material/home:", default=True)],
    "Indicators (paper section 3)": [
        st.Page("pages/1_Text_indicators.py", title="Text indicators", icon=":material/notes:"),
        st.Page("pages/2_Acoustic_indicators.py", title="Acoustic indicators", icon=":material/graphic_eq:"),
    ],
    "Multi-task training (sections 4-5)": [
        st.Page("pages/3_Train.py", title="Train", icon=":material/model_training:"),
        st.Page("pages/4_Sampling_dynamics.py", title="Sampling dynamics", icon=":material/stacked_line_chart:"),
        st.Page("pages/5_Results.py", title="Results", icon=":material/table_chart:"),
    ],
    "Your voice": [st.Page("pages/6_Live_prediction.py", title="Live prediction", icon=":material/mic:"),
                   st.Page("pages/7_Segment.py", title="Segment a recording", icon=":material/content_cut:"),
                   st.Page("pages/8_Record_a_corpus.py", title="Record a corpus", icon=":material/record_voice_over:")],
}
st.navigation(PAGES).run()
