"""Tag My Photos: the core (no UI, queue or integrations; those live in ui/, jobs/, integrations/).

Layers, top to bottom (import-linter keeps them): stages | system -> review -> suggest -> core ->
library | faces | matching | metadata -> store -> config -> tuning | geometry | errors.
"""

__all__ = ["config", "core", "errors", "faces", "geometry", "library", "matching", "metadata", "review",
           "stages", "store", "suggest", "system", "tuning"]
