"""Evaluation stage: metrics on every split and the fit diagnosis."""
