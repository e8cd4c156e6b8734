"""The lab: benchmarks, evaluations, their shared data helpers, the fake Immich/PhotoPrism, the
throwaway PostgreSQL/Redis servers and the one launcher of `tagmyphotos serve` in a subprocess.

Why a package beside the product and not files in scripts/: the benchmarks, the evaluations and
the tests share these helpers; as a package they import each other by name (no `sys.path`
edits), tests import them without reaching into scripts/, and the benchmarks no longer import
`tests`. The product (tagmyphotos, ui, jobs, integrations, tagmyphotos_app) never imports it
(an import-linter contract); it is installed with the rest and left out of the container image.

Run it as `python -m tagmyphotos_lab NAME [options]` (a benchmark) or
`python -m tagmyphotos_lab evaluate [--copies | --open-set | --takeout | --merge] [options]`;
`scripts/bench` and `scripts/evaluate` are the short documented entry points.
"""
