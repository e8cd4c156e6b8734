"""Reusable UI widgets: face grid, person picker, confirm dialog, live job progress."""
