"""Next-day rain forecasts from the Seattle daily weather records (vega_datasets), 2012-2015."""
