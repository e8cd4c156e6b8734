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

# --- review and suggestions (people / faces_review / suggest) --------------------------------

# Undo keeps this many recent actions (each entry holds the before/after of the faces it touched).
UNDO_KEEP = 20

# Faces judged per database round trip in a suggestion refresh (whole photos per batch): big
# enough to amortise the queries, small enough to keep one write transaction short.
SUGGEST_BATCH = 2000

# After a confirm/reject, unknown faces within (model distance threshold x this) of a changed
# face are judged again. A face farther than the threshold from the changed face can still have
# it among its k nearest (it sets the runner-up margin), hence > 1; the full refresh after each
# analysis corrects anything beyond.
SUGGEST_AFFECTED_RADIUS = 1.5

# Ids per SQL "IN (...)": below SQLite's 32766 and PostgreSQL's 65535 bound parameters.
SQL_IN_MAX = 10_000

# Rebuild the Annoy index this many seconds after the last change (debounce: a burst of accepts
# causes one rebuild; until then new confirmations are searched exactly).
INDEX_REBUILD_DEBOUNCE_S = 30

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
