"""Every tuning threshold of the pipeline, named and commented, in one place.

Config values (config.yaml) override some of these per installation; the constants here are
the calibrated defaults and the limits nobody should need to change. Calibrated on
../shared/testdata (see README "Calibration"); never tuned to pass a test.
"""

# --- scan ------------------------------------------------------------------------------------

# Files are hashed in chunks of this size (bytes): large enough for throughput, small enough to
# keep memory flat on a NAS.
HASH_CHUNK_BYTES = 1 << 20

# Commit the scan's changes every this many changed files, so a killed scan keeps its work
# and readers (UI, API) are never blocked for long.
SCAN_COMMIT_EVERY = 500

# --- analysis (faces_detect / faces_embed / faces_thumb) -------------------------------------

# --- matching (faces_match / faces_index / faces_cluster) ------------------------------------

# --- metadata writing -------------------------------------------------------------------------
