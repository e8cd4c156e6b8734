"""Suggestions and clusters kept in step with the confirmed faces (the database side of matching).

Why a layer under review: a review action refreshes what it can change right after its commit.

Modules:
- state: per-process, per-model faces and vectors in memory
- refresh: judge faces, write suggestions, publish the index
- clusters: clusters of unknown faces, ids never reused
"""

__all__ = ["clusters", "refresh", "state"]
