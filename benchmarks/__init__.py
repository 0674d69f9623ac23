"""Side-by-side benchmarks of cliquify_async against plain aiohttp baselines (see README.md).

Run them all with `python -m benchmarks.run` from the repository root (or `nox -s bench`).
"""
