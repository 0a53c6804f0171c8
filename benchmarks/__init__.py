"""Benchmarks of the course: each suite prints a table of figures and never asserts times."""
