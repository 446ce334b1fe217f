"""The Streamlit dashboard over the DuckDB store (filled by the dashboard issue); it only reads."""
