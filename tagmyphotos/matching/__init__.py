"""Pure matching: vectors in, decisions out (nearest neighbours, votes, one person per photo, clusters).

Why pure: thresholds are calibrated by scripts/evaluate on plain arrays, without a database.

Modules:
- index: Annoy on disk and exact numpy behind one query
- match: k-NN vote: who is this face, how sure, why
- assign: one person at most once per photo
- cluster: group unknown faces that look alike
- merge: people whose face centroids are close (merge suggestions)
- whispers: dlib's chinese whispers graph clustering, without dlib
"""

__all__ = ["assign", "cluster", "index", "match", "merge", "whispers"]
