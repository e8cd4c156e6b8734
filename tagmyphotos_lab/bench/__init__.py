"""The benchmarks, one module each with a main(): `scripts/bench NAME` (python -m tagmyphotos_lab NAME).
Each prints a readable table, then one JSON object of its figures as the last line."""
