"""Benchmarks: `python -m bench.load` (throughput and latency), `python -m bench.faults` (fault run)."""
