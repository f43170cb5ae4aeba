"""Benchmarks for toplab (`make bench`): how fast and light the lab is, next to top itself.

Benchmarks, not tests: they measure and report; nothing here fails because the machine is
slow. ``python -m bench.run`` prints a table and writes the same figures as JSON under
bench/results/ (gitignored).
"""
