"""Benchmarks: `python -m bench` (matching latency, start-up), `python -m bench.load` (throughput and
latency), `python -m bench.faults` (fault run), `python -m bench.broadcast` (broadcast rate)."""
