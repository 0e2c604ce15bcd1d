"""The rubric definitions shipped with pytest-mltestscore (data files; see breck2017.toml)."""
