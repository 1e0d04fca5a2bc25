"""Infrastructure every other package may use: paths, caches, input checks, units of work, results and the ledger,
the figure style.
"""
