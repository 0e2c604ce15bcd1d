"""Penguin species from field measurements: the example project scored by pytest-mltestscore."""
