"""The Streamlit dashboard over the DuckDB store: thin pages over `evals.store.queries`; only the Label
page writes, through the store's API."""
