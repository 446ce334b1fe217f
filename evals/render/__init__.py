"""Reports for people and CI systems: the terminal, Markdown, JSON and JUnit."""
