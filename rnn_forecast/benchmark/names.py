"""The benchmark's dataset names: a module without heavy imports, for the command line."""

DATASETS = ("traffic", "weather", "stocks", "etth1")
