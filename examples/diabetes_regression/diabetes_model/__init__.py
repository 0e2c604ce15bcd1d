"""Disease progression one year after a baseline visit: the regression example project."""
