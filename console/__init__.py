"""The operator's web console: server-rendered pages over the same ledger and the same
ledger operations the command line uses (DESIGN.md: a second face beside run.py)."""
