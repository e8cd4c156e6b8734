"""Files on disk: walk the library, scan it into the photo table, resolve client paths safely.

Why apart from metadata: the scan reads as little as possible (one stat per unchanged file);
metadata reads tags only when a photo is analysed or written.

Modules:
- walk: which files are photos, never leaving the library
- scan: bring the photo table in line with the library
- probe: what one new or changed file is (content hash, format, size, orientation)
- paths: resolve a client's path inside its root, never outside
"""

__all__ = ["paths", "probe", "scan", "walk"]
