"""Benchmarks. `python -m bench` runs the matching benchmark; other modules run on their own."""
