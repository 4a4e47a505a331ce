"""The simulation: state (struct of arrays), phases, mechanisms and the compiled engine."""
