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

# --- integrations (integrations/*) ------------------------------------------------------------

# Immich search page size: the API maximum (MetadataSearchDto.size <= 1000), fewest round trips.
IMMICH_SEARCH_PAGE_SIZE = 1000
# Asset ids per POST /api/assets/jobs: a ~20 kB body; a 10k-photo write job takes 20 calls.
IMMICH_JOB_BATCH_SIZE = 500
# From this many written files in one folder, one paged folder search (budget: files - 1 pages)
# replaces one search per file; below it the per-file search is as cheap.
IMMICH_FOLDER_SEARCH_MIN_FILES = 3
# Two boxes are the same head at IoU >= this. Calibrated on ../shared/testdata/faces: dlib-HOG
# (our default) vs MTCNN boxes (a CNN detector like Immich's) of the same head had IoU min 0.55,
# 5th percentile 0.62, median 0.69 (68 heads); boxes of different heads 0.0 (18 pairs).
# 0.4 leaves room for detectors with looser boxes while staying far above neighbours' overlap.
FACE_SAME_IOU = 0.4
# HTTP retries: backoff base * 2^attempt seconds, capped (also caps a server's Retry-After).
HTTP_BACKOFF_BASE_S = 0.5
HTTP_BACKOFF_MAX_S = 8.0
# PhotoPrism indexes inside the request (one folder can take minutes on a NAS): read timeout.
PHOTOPRISM_INDEX_TIMEOUT_S = 600.0
