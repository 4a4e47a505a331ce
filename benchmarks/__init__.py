"""Benchmarks and the Mesa reference implementation used to dock and time scenelab.

Nothing here is imported by scenelab itself; the test suite only checks that each benchmark runs.
"""
