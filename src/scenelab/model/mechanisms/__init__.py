"""One module per mechanism, each with its literature anchor; the tick order is in phases.py."""
