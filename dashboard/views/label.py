"""Labelling: a person grades a run's answers on a judge's rubric; the labels and the answer they saw
go to the store (the only page that writes labels), where `goldgate calibrate --from-store` reads them. Answers
the judges disagree on, among themselves or with a person, are listed first, with why."""

from __future__ import annotations

import streamlit as st

from dashboard.data import db_path, pick_run, query, store_or_empty_state
from evals.errors import EvalInputError
from evals.judges.spec import load_judge_prompt
from evals.resources import judge_prompt, judge_prompts
from evals.store.store import Store

st.title("Label")
runs = store_or_empty_state()
if runs is not None:
    run_id = pick_run(runs)
    prompts = [p.name for p in judge_prompts() if load_judge_prompt(p).spec.mode == "pointwise"]
    rubric = load_judge_prompt(judge_prompt(st.selectbox("Rubric (a pointwise judge prompt)", prompts))).spec
    rater = st.text_input("Your name (the rater)", key="rater")
    answers = query("answers_to_label", run_id=run_id)
    if answers.empty:
        st.info("This run has no answers to label.")
    else:
        queued = answers[answers["queued"].notna()]
        st.caption(f"{int((answers['labels'] > 0).sum())} of {len(answers)} answers labelled by someone")
        if not queued.empty:
            st.markdown(f"**Queued for people first** ({len(queued)}): where the judges disagree among themselves "
                        "or with a person's label")
            st.dataframe(queued[["example_id", "queued"]], hide_index=True, width="stretch")
        # in id order, not queue order: a label saved can queue an answer, and the choice must not move
        example_id = st.selectbox("Answer", sorted(answers["example_id"]), key="answer")
        answer = answers.loc[answers["example_id"] == example_id, "output"].iloc[0]
        if example_id in set(queued["example_id"]):
            st.warning(queued.loc[queued["example_id"] == example_id, "queued"].iloc[0])
        st.text_area("The answer", answer, disabled=True, height=120)
        with st.form("labels"):
            labels = {}
            for dim in [*rubric.dimensions, "overall"]:
                scale = rubric.scale(dim)
                labels[dim] = st.radio(dim, list(range(scale.min, scale.max + 1)), horizontal=True, key=f"dim-{dim}")
            saved = st.form_submit_button("Save labels")
        if saved:
            if not rater.strip():
                st.error("Give your name first: labels are kept per rater.")
            else:  # the store refuses while a run is still writing
                sha = runs.loc[runs["run_id"] == run_id, "dataset_sha256"].iloc[0]
                try:
                    Store(db_path()).save_labels(sha, run_id, example_id, answer, rater.strip(),
                                                 {d: str(v) for d, v in labels.items()})
                except EvalInputError as e:
                    st.error(str(e))
                else:
                    st.success(f"Saved {len(labels)} labels on {example_id} by {rater.strip()}.")
