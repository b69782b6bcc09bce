"""Benchmarks, each run as a script: python benchmarks/NAME.py (a package only so that
benchmarks/console.py is not mistaken for the console package by mypy)."""
