"""Benchmarks that print measured figures next to their targets (never timed assertions in tests)."""
