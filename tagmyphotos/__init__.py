"""Tag My Photos: the core (no UI, queue or integrations; those live in ui/, jobs/, integrations/).

Layers, top to bottom (import-linter keeps them): stages | system -> review -> suggest -> core ->
library | faces | matching | metadata -> store -> config -> tuning | geometry | errors.

The release number lives here, once (pyproject reads it, see [tool.setuptools.dynamic]): the CLI
(`tagmyphotos --version`), the API (/api/v1/version, /healthz), the metrics and the Docker image
label (scripts/docker-build) all show this constant, also in a source checkout whose installed
metadata is older. What changed in each release: CHANGELOG.md.
"""

VERSION = "0.9.0"
__version__ = VERSION  # the Python convention; other modules import VERSION (a public name)

__all__ = ["VERSION", "config", "core", "errors", "faces", "geometry", "library", "matching", "metadata",
           "review", "stages", "store", "suggest", "system", "tuning"]
