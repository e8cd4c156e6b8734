"""Composition root: the CLI and the app factory wire core, jobs, integrations and UI."""
