"""Throughput and scaling benchmarks (``make bench``); not part of the installed package."""
