"""The evaluations of matching quality on the testdata (a simulated user), one module each with a
main(): `scripts/evaluate [--copies | --open-set | --takeout | --merge]`; certainty holds the
shared certainty-level report. Each prints a readable report, then one JSON object."""
