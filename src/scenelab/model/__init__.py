"""The simulation: state (struct of arrays), phases, mechanisms and the compiled engine.

Importing this package is cheap: the Numba compile cache is configured by ``model.jit`` when the
first compiled module is imported, not here.
"""
