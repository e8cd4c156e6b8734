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
# A scan of given paths lists at most this many of them in its result (the job row stays small;
# the count of files looked at is always there as `seen`).
SCAN_SCOPE_SHOWN = 50
# A scan asked for by the inbound hook waits this long before it starts; calls in that window join
# it. Uploaders call once per file (an Immich or PhotoPrism upload of 20 photos arrives within
# a second or two; Syncthing's watcher already batches for 10 s), so 2 s folds a burst into one
# scan while a new photo is still analysed within seconds. Calls while it runs queue one more.
SCAN_HOOK_DEBOUNCE_S = 2.0
# A signed scan hook carries the time it was signed (X-TagMyPhotos-Timestamp); it is accepted
# within this many seconds of the server's clock, and each signature only once. 5 minutes covers
# clocks a little apart (NTP keeps them within a second) and leaves a replay no later use.
HOOK_REPLAY_WINDOW_S = 300

# --- analysis (faces_detect / faces_embed / faces_thumb) -------------------------------------

# Decompression-bomb guard: photos over this many pixels are refused with a clear error
# (108-MP phone sensors exist; config analysis.max_image_pixels overrides it).
IMAGE_MAX_PIXELS = 120_000_000
# Decodes of more pixels than this (after a JPEG's reduced decode) run one at a time on the
# machine (faces/images.decode_slot). 50 MP of RGBA is 200 MB decoded; every photo a phone or a
# camera makes (<= ~60 MP JPEG, decoded at 1/2..1/8 for analysis) stays under it, so only big
# PNG/TIFF/WebP scans and panoramas wait for each other.
DECODE_ALONE_PIXELS = 50_000_000
# A RAW decoded by LibRaw at half size (faces/raw) holds about this many bytes per photosite at
# its peak: measured +239 MB on a 52 MP 8-bit DNG (16-bit sensor values, LibRaw's 4x16-bit
# half-size image, the 8-bit result). Its decode_slot request is photosites * this / 4, so RAWs
# from ~40 MP up decode one at a time on the machine, as a 50 MP RGBA PNG does.
RAW_DECODE_BYTES_PER_PHOTOSITE = 5
# The half-size decode is handed to the analysis as a JPEG of this quality (visually lossless;
# a 13 MP decode is ~3 MB on disk and decodes reduced through Image.draft like any JPEG).
RAW_DECODE_JPEG_QUALITY = 95
# Allocations from this size up are mmapped by glibc and so returned to the system when freed
# (faces/images._give_big_blocks_back); Pillow's 16 MB pixel blocks are above it.
MALLOC_MMAP_THRESHOLD_BYTES = 1 << 20
# Analysis worker processes (faces/images.reuse_freed_blocks, set after the models are loaded)
# keep freed buffers below the first size in the heap, and let the heap's free top grow to the
# second before trimming it. With the 1 MB threshold above, the kernel zeroed every fresh
# buffer page by page: on the 61 labelled testdata photos, one process, 19.3 ms of kernel time
# per photo (1.24 M page faults) on top of ~105 ms user; with 16 MB / 32 MB 2.7 ms (184 k
# faults); 32 MB / 64 MB was no faster within the noise of the shared box (load 6-10). On their
# 12-MP copies, 2 processes (scripts/bench analyze's run): CPU 0.21 -> 0.11-0.14 s per photo;
# peak RSS of the tree 946 MB with 1 MB, 924-965 MB with 16/32 (32/64: 944-1047 when set before
# the models were loaded). A 12-MP photo's reduced decode (2000x1500, 12 MB) stays in the heap;
# the second decode for small faces (up to CHIP_SOURCE_MAX_SIDE) is mmapped and returned.
WORKER_MMAP_THRESHOLD_BYTES = 16 << 20
WORKER_TRIM_THRESHOLD_BYTES = 32 << 20

# Detection runs on the photo bounded to this long side (config analysis.detect_max_px).
# HOG costs ~ pixels: 24 ms at 800 px, 61 ms at 1600; it finds faces >= ~80 px in that image,
# i.e. >= 10% of the long side at 800. All 61 labelled photos are found at 800.
DETECT_MAX_SIDE = 1024

# Images whose long side is at most this are upsampled x2 for HOG (tiny photos, small faces);
# cheap because the image is small.
HOG_UPSAMPLE_BELOW_SIDE = 512

# HOG detections with an SVM score below this are dropped (dlib's own threshold is 0).
HOG_MIN_SCORE = 0.0

# MTCNN: smallest face searched (px in the detection image), pyramid step and the three
# stages' probability thresholds (the mtcnn package's defaults, except a stricter last stage
# that removes background texture taken for faces on the labelled single-face photos).
MTCNN_MIN_FACE_PX = 24
# The onnx engine's only detector is MTCNN: it looks for faces of at least this many pixels in
# the detection image (1024 px), 2.5x smaller than the smallest face HOG finds there (~80 px).
# On the 64 testdata photos: 24 px costs 1.5x the CPU of 32 (PNet's first pyramid level is the
# costly one) and finds no more labelled faces; 40 px lost img28 (a large face whose pyramid
# levels fell badly: ONet 0.87 vs threshold 0.85) in one of two runs; 32 found all 61 in both.
ENGINE_MTCNN_MIN_FACE_PX = 32
# ...that is the largest "smallest face" it looks for: on a photo smaller than the detection
# image MTCNN searches for faces down to analysis.min_face_px as far as the same cost allows
# (faces_detect.mtcnn_min_face): cost ~ pixels x (12 / min face)^2, budget = a photo of
# max_side^2 x MTCNN_BUDGET_ASPECT pixels (4:3 at the detection size) searched down to 32 px.
# So 20-px faces are found in photos up to ~640x480, 25 px at 800x600, 32 px from 1024x768 up.
MTCNN_BUDGET_ASPECT = 0.75
MTCNN_SCALE_FACTOR = 0.709
MTCNN_THRESHOLDS = (0.6, 0.7, 0.85)
# Non-maximum suppression computes the overlaps of all pairs at once up to this many boxes
# (1 M pairs, ~4 MB per temporary), one pass per kept box beyond. On the 61 labelled testdata
# photos: 719 calls, 20 boxes on average, 274 at most; 1.5 ms per photo instead of 2.6 (same
# kept boxes).
MTCNN_NMS_PAIRWISE_MAX = 1000

# MTCNN boxes are taller than HOG's (forehead included); dlib's 5-point landmark model was
# trained on HOG-like boxes, so an MTCNN box is mapped to one first: centre shift (x, y) as a
# fraction of the box, then width and height factors. Medians over the 67 faces both detectors
# found in ../shared/testdata/faces (spread 0.04-0.09).
MTCNN_TO_HOG_BOX = (0.0, 0.09, 1.11, 0.81)

# The onnx engine runs dlib's 5-point shape predictor on the face box scaled by each of these
# factors (about its centre) and averages the points: the predictor follows its box, and an
# MTCNN box mapped to a HOG-like one is only an estimate of the box it was trained on. On the
# testdata (scripts/evaluate, k=2) one box gives likely recall 0.986 (345/350) and 21 strangers
# named "likely" of 610; three boxes 0.991 (347/350) and 20, against 0.989 and 20 for the dlib
# engine (HOG boxes). The boxes go through the predictor in one batched pass (faces_align):
# 3 boxes cost ~15 ms CPU per face, 1 box ~9.5 ms (47 ms for 3 one at a time before).
LANDMARK_BOX_SCALES = (0.95, 1.0, 1.05)

# Faces rolled in the image plane (faces_roll): MTCNN's eye line tilted by at least this many
# degrees turns the face upright before the landmarks; the detector finds it again in a crop
# of ROLL_CROP_FACES face sizes with the face scaled to ROLL_DETECT_FACE_PX across.
ROLL_UPRIGHT_MIN_DEG = 15.0
ROLL_DETECT_FACE_PX = 80
ROLL_CROP_FACES = 2.0

# Two detections (HOG + MTCNN in union mode) overlapping by more than this IoU are one face.
DETECT_MERGE_IOU = 0.3

# Faces smaller than this (shorter box side, oriented full-resolution px) are ignored
# (config analysis.min_face_px). Smaller faces are kept with a low quality (size factor
# size / QUALITY_GOOD_FACE_PX), sorted last and never clustered (CLUSTER_MIN_*). 40 until issue
# 20: on the quarter-size copies of the testdata (scripts/evaluate --copies) it lost 6 of the
# 61 labelled faces (25-36 px), likely recall 0.869; at 20 all 61 are found, recall 0.989 with
# precision 1.000 and 23 of 610 stranger faces named "likely" either way. Photos larger than
# the detection image are searched down to what MTCNN's budget allows (MTCNN_BUDGET_ASPECT).
MIN_FACE_PX = 20

# JPEGs decode with Image.draft at the smallest 1/2, 1/4, 1/8 scale that keeps the long side
# >= the detection size; the chips are cut from that decode when every face has at least this
# many pixels across in it (more than the 150 px chip holds once padded, so nothing is lost),
# else the photo is decoded again just large enough (at most full size).
CHIP_SOURCE_MIN_FACE_PX = 150
# ...but that second decode is capped at this long side (~27 MP at 4:3, ~190 MB transient), so
# a tiny face in a 100-MP photo cannot push a worker past the NAS's memory budget.
CHIP_SOURCE_MAX_SIDE = 6000

# dlib's canonical chip: size (px) and padding around the 5-point-aligned face; the ResNet
# was trained on 150 px chips with padding 0.25 (dlib's own default).
CHIP_SIZE = 150
CHIP_PADDING = 0.25
# Chip padding for the other (deepface) models, which were used on tight detector crops;
# an approximation: no other model's weights ship offline to calibrate it on.
DEEPFACE_CHIP_PADDING = 0.1

# Quality score (0..1) = size factor x sharpness factor; each saturates at these values:
# a face >= 160 px, and a variance of the Laplacian on the grey 150-px chip >= 100 (95% of the
# 72 faces in ../shared/testdata/faces reach 100; the blurred bystanders of img54 score 4-7).
QUALITY_GOOD_FACE_PX = 160
QUALITY_GOOD_SHARPNESS = 100.0

# A face whose chip is less sharp than this is embedded twice, as it is and mirrored, and the
# two vectors averaged (faces_analyze.embed_chips; +1 ResNet pass, ~11 ms, for those faces only).
# Measured with scripts/evaluate --copies (k=2, 10 draws; likely recall on the originals / on
# the blurred copies / on all copies, and stranger faces named "likely" of 6,650): no flipping
# 0.9914 / 0.920 / 0.9717, 195; below 30: 0.9914 / 0.946 / 0.9743, 196; below 100 (the
# quality's "sharp enough"): 0.9971 / 0.946 / 0.9780, 196; below 200: 0.9971 / 0.946 / 0.9783,
# 196; every face: 0.9971 / 0.946 / 0.9797, but 227 strangers. Precision 1.000 in every case.
# Sharpening (unsharp mask) the blurred chips named 11 blurred strangers; CLAHE lost recall.
FLIP_AVERAGE_BELOW_SHARPNESS = QUALITY_GOOD_SHARPNESS

# Face thumbnails: square JPEG of this size, the box padded by this fraction on each side.
THUMB_SIZE = 160
THUMB_PADDING = 0.3
THUMB_JPEG_QUALITY = 85

# Analysis workers keep at most this many photos in flight per worker (bounds memory).
ANALYSIS_PREFETCH_PER_WORKER = 2

# --- matching (faces_match / faces_index / faces_cluster) ------------------------------------

# Matching defaults per embedding model: (metric, distance threshold, logistic scale, margin).
# - metric: what the model was trained for; dlib's ResNet is euclidean, the others are compared
#   as "angular" = euclidean distance of unit vectors (deepface's euclidean_l2).
# - distance threshold: a face farther than this from every confirmed face stays unknown. It
#   is also the centre of the same-person probability P(d) = 1 / (1 + exp((d - t) / scale)).
#   Dlib: 0.60 = dlib's published LFW threshold; on the 61 labelled testdata photos (1830 pairs)
#   the equal-error distance is 0.598 (FNR 0.7%, FPR 0.4%) and a logistic fit of same/different
#   pairs gives centre 0.62, scale 0.040 (C=10); we keep dlib's 0.60 and the fitted scale.
#   The other models are not calibrated here (their weights cannot be downloaded offline):
#   thresholds are deepface's published euclidean_l2 ones and the scale keeps dlib's ratio
#   (scale/threshold = 0.067).
# - margin: minimum distance between the suggested person's nearest face and the nearest face
#   of any other person; below it the face stays unknown ("wrong names are worse than none").
#   Dlib: 0.04 = one logistic scale unit; others: the same ratio to their threshold.
MATCH_MODELS: dict[str, tuple[str, float, float, float]] = {
    "Dlib": ("euclidean", 0.60, 0.040, 0.040),
    "Facenet": ("angular", 0.80, 0.053, 0.053),
    "Facenet512": ("angular", 1.04, 0.069, 0.069),
    "ArcFace": ("angular", 1.13, 0.075, 0.075),
    "VGG-Face": ("angular", 1.17, 0.078, 0.078),
    "OpenFace": ("angular", 0.55, 0.037, 0.037),
    "SFace": ("angular", 1.055, 0.070, 0.070),
    "GhostFaceNet": ("angular", 1.10, 0.073, 0.073),
}

# Confidence bands (config matching.likely_confidence / maybe_confidence). Confidence = the
# best person's odds / (1 + its odds + every rival's odds), odds from P(d) (equal priors: "this
# person", "a rival", "nobody"). Dlib: "likely" needs the nearest face within 0.545 when nobody
# else is near, 0.541 with a rival at 0.70, 0.536 with one at 0.66; "maybe" within 0.60.
# On the labelled testdata (scripts/evaluate, k=2) likely is 100% right and names 99% of faces.
# The same bands serve every face quality: on the harder copies of the testdata (issue 20,
# scripts/evaluate --copies: quarter-size, tilted, blurred, grey, ... faces, 6,100 stranger faces)
# "likely" precision is 1.000 on every kind and strangers are named at the originals' rate
# (blurred ones 1 of 610): hard faces fall to "maybe", so no per-quality threshold is needed.
MATCH_LIKELY_CONFIDENCE = 0.80
MATCH_MAYBE_CONFIDENCE = 0.50
# How sure a suggestion is, as the user sees it ("sure", "likely", "check"): matching/sure.py
# and the SURE_* rule below. (Until issue 26 "sure" was confidence >= 0.98, calibrated with one
# stranger at a time; with most people unnamed it named a look-alike stranger "sure" at 0.997.)
# The confidence is not an honest probability: scripts/evaluate prints its reliability table.

# "Sure": the level the product names by itself (review.auto_accept: sure; matching/sure.py).
# Its rule, not the confidence above, decides it, on faces a person confirmed only. Calibrated on
# the open set (scripts/evaluate --open-set --copies: 2-5 of the 13 people named from 2-4 photos
# each, everyone else unnamed, the harder copies of every photo in the library, 100 draws): the
# nearest wrong suggestion of any level lay 0.507 from its person's evidence (the look-alike pair;
# no copy, blurred, grey or tilted, came closer). Rules (not fitted to a figure):
# - SURE_DISTANCE: the largest 0.01 step two logistic scales (2 x 0.040) below that nearest wrong
#   name: 0.507 - 0.08 -> 0.42. Share of right names at 0.40 / 0.42 / 0.45: 0.61 / 0.68 / 0.80
#   (copies, rule 4 with the stricter far-from-person test) - all with 0 wrong; 0.42 keeps margin.
# - SURE_SUPPORT: two distinct confirmed photos must agree, so one odd or mistaken confirmation
#   never names anybody by itself; with 2-4 named photos it costs 1 point of share (0.817 ->
#   0.807), with 1-3 it halves it (a person named once stays "likely").
# - SURE_SUPPORT_DISTANCE 0.50: below every wrong name seen (0.507): each supporting face on its
#   own is as close as no stranger came. It is also "far from the person" in rule 4: an unnamed
#   face nearer than the evidence but more than this from every confirmed face of the person is
#   the mark of an unnamed look-alike's own group (rule 4 costs 0.1 point of share).
# - SURE_RIVAL_MARGIN: 0.10 (2.5 scales): another named person this close is a look-alike.
# - SURE_DUPLICATE_DISTANCE: 0.10, a copy or burst shot of one photo (half-size and JPEG q30 copies
#   land a median 0.05-0.06 from their original): counted once as support.
# Result (120 draws, 11,846 suggestions): sure 7,499, 0 wrong (95% bound 0.040 per 100), 79.5% of
# the right names; likely 55 wrong per 100 (strangers' faces), check 100. With 1-3 named photos:
# sure 5,846, 0 wrong, 44% of the right names. README "Naming by itself".
SURE_REFERENCE_THRESHOLD = 0.60  # the Dlib threshold these distances were measured against
SURE_DISTANCE = 0.42
SURE_SUPPORT = 2
SURE_SUPPORT_DISTANCE = 0.50
SURE_RIVAL_MARGIN = 0.10
SURE_DUPLICATE_DISTANCE = 0.10
SURE_UNNAMED_NEIGHBOURS = 10
# A full refresh searches the unnamed faces for rule 4 through an Annoy index from this many on
# (exact: every likely face against every unnamed one, 16 s CPU at 20k faces, 25x that at 100k).
SURE_UNNAMED_INDEX_ABOVE = 20_000

# k of the k-NN vote (config matching.k), and how many more neighbours are fetched to find the
# nearest conflicting person and to survive rejected persons being filtered out.
MATCH_K = 7
MATCH_FETCH_EXTRA = 14
# A person's support from several of the k neighbours: 1 - prod((1 - P(d_i))^w_i), w = 1 for
# their nearest face and this for the others. Neighbours of one person are correlated evidence
# (near-duplicate photos), so they count half: two faces at 0.56 make 0.86, not 0.93. On the
# testdata (scripts/evaluate, k=2) w = 0 / 0.5 / 1 give likely recall 0.983 / 0.989 / 0.997 at
# precision 1.0, and name a stranger "likely" in 18 / 20 / 24 of 610 open-set trials.
MATCH_AGREE_WEIGHT = 0.5

# Look-alikes (siblings, children): when a person's nearest confirmed face of another person is
# closer than the model threshold, that gap replaces the threshold as the centre of the
# person's own P(d) (rivals keep the plain centre, so a look-alike never looks less likely):
# only faces clearly closer than the two people are to each other become "likely".
# The gap is taken over this many nearest neighbours of each confirmed face.
MATCH_LOOKALIKE_NEIGHBOURS = 10

# Clustering unknown faces (faces_cluster), distances as ratios of the model threshold.
# Edge: dlib's face-clustering example links faces closer than 0.5 (ratio 0.5/0.6); on the
# labelled testdata chinese whispers then finds the 13 identities exactly (ARI 1.0; 0.45 splits
# them into 15, 0.55 merges two: ARI 0.93).
CLUSTER_EDGE_RATIO = 0.5 / 0.6
# Join: a new face's distance to its own identity's centroid (leave-one-out) is <= 0.385 for
# 95% of the labelled faces (max 0.48), to another identity's centroid >= 0.49 (1% < 0.61):
# 0.42 (ratio 0.7) lets most faces join and keeps strangers out; the others are re-clustered.
CLUSTER_JOIN_RATIO = 0.7
# Neighbours per face in the clustering graph (chinese whispers needs only local edges).
CLUSTER_NEIGHBOURS = 20
# A group smaller than this is not shown as a cluster (its faces wait for more look-alikes).
CLUSTER_MIN_SIZE = 2
# Outliers ("drop outliers" before naming a cluster): labelled faces lie at most 0.40 from
# their identity's centroid (median 0.24), so beyond 0.42 (ratio 0.7) a member is always an
# outlier; below that, beyond median + 3.5 robust deviations, but never below 0.30 (ratio 0.5).
CLUSTER_OUTLIER_RATIO = 0.7
CLUSTER_OUTLIER_MADS = 3.5
CLUSTER_OUTLIER_FLOOR_RATIO = 0.5 / 0.7
# "Looks different" (the Unknown faces page leaves such a member unselected): an outlier as above
# AND farther than 0.49 (ratio 0.82) from the centroid of the group's OTHER members. The join
# measurement above: a face lies at most 0.48 from its own identity's leave-one-out centroid and
# at least 0.49 from another's (1% < 0.61). In small groups the rule above alone flagged the group's
# own person (issue 29, 5 people named, their suggestions rejected, regrouped: img54 at 0.448 from
# the other three of person02, 0.336 from the centroid, over the floor of 0.30). In those 13 groups
# (2-9 faces) this flags no member; any other identity's face added to a group: 779 of 780 flagged.
# Groups of 3-4 faces drawn from each labelled person (211, tests/matching/test_faces_cluster.py):
# 17 lost one of their own person's faces to the rule above alone, 3 with this; 99.2% of the
# strangers added are still caught.
CLUSTER_LOOKS_DIFFERENT_RATIO = 0.49 / 0.6
# Faces kept out of clusters: shorter side below 64 px (dlib's chip is 150 px, smaller faces
# are upscaled noise), detector score below 0.3 (HOG SVM margin: the weakest real face of the
# testdata scores 0.35; MTCNN probabilities are >= 0.9 anyway), or quality below 0.35
# (size x sharpness, faces_analyze: e.g. a 160 px face with a Laplacian variance under 35).
CLUSTER_MIN_FACE_PX = 64
CLUSTER_MIN_DET_SCORE = 0.3
CLUSTER_MIN_QUALITY = 0.35

# Merge suggestions (review.merges): two people whose confirmed faces' centroids are closer than
# this ratio of the model threshold are shown as "maybe one person" (dlib: 0.55). Calibrated by
# scripts/evaluate_merge.py on the labelled testdata: every person with 2+ faces split in two
# at random (20 draws, 260 splits) vs every pair of different people (1,560 pairs): the
# centroid distance of a split person is at most 0.487 (95% under 0.41, median 0.29); two
# different people are at least 0.503 apart (5% under 0.68, median 0.86). 0.55 finds every
# split (0.50 would too, with no margin) and puts 9 of the 1,560 different pairs (0.6%, all the
# known look-alike pair) on the list, where "different people" removes them for good.
MERGE_DISTANCE_RATIO = 0.55 / 0.6
# Faces of each person shown as evidence of a merge suggestion (best quality first).
MERGE_EVIDENCE_FACES = 4
# At most this many merge suggestions are listed (closest first).
MERGE_MAX_SUGGESTIONS = 50

# Annoy index: below this many confirmed faces exact numpy search is as fast and exact.
INDEX_EXACT_BELOW = 1000
# Annoy trees (more = better recall, bigger file, slower build) and the number of tree nodes a
# query inspects (Annoy's search_k; at least fetched x trees). Measured on 100k synthetic faces
# (scripts/bench match), recall@10 vs brute force: 32 trees with search_k 320 (Annoy's default
# for k=10) 0.948, 640 0.979, 1280 0.992, 2560 0.997; 64 trees are 2x slower to build.
INDEX_TREES = 32
INDEX_SEARCH_K = 1280
# Faces removed since the last build are filtered out of Annoy's answers by over-fetching;
# beyond this many, or this many added, exact search is used until the rebuild.
INDEX_MAX_DROPPED = 256
INDEX_MAX_FRESH = 50_000
# Big query batches (a full refresh) are split over this many processes, each mapping the
# published index file (Annoy holds the GIL, so threads would not help), when every process
# gets at least INDEX_PARALLEL_MIN_ROWS rows (a spawned worker costs ~0.5 s to start).
INDEX_QUERY_WORKERS = 2
INDEX_PARALLEL_MIN_ROWS = 5000
# Exact search for fewer queries than this runs BLAS on one thread: a one-face query against
# 100k faces took 8 ms with 2 OpenBLAS threads on a busy 2-core machine and 2 ms with one;
# big blocks (a refresh) still gain from both cores.
INDEX_EXACT_ONE_THREAD_BELOW = 64
# Exact search processes queries in blocks of at most this many distance cells (memory bound).
INDEX_EXACT_CHUNK_CELLS = 16_000_000
# Annoy build: fixed seed (reproducible trees) and threads.
INDEX_SEED = 42
INDEX_BUILD_JOBS = 2

# --- review and suggestions (people / faces_review / suggest) --------------------------------

# Undo keeps this many recent actions (each entry holds the before/after of the faces it touched).
UNDO_KEEP = 20
# Automatic naming runs that can still be undone (one entry each, kept apart from UNDO_KEEP).
UNDO_AUTO_KEEP = 60

# A new name this similar to an existing name or alias (difflib ratio of the case-folded names)
# is offered as "did you mean ...?" before a second person is created. 0.85 is one typo in a
# name of 7+ letters ("Katherine"/"Catherine" 0.89, "Jon"/"John" 0.86, "Tom Smyth" 0.89) and
# stays below different people with a shared part ("Anna"/"Anne" 0.75, "Marie Curie"/
# "Pierre Curie" 0.70). A name that is the first word(s) of an existing one ("Scarlett" for
# "Scarlett Johansson") is offered too, whatever its ratio.
NAME_SIMILAR_RATIO = 0.85
# At most this many existing people are offered.
NAME_SIMILAR_SHOWN = 3

# Faces judged per database round trip in a suggestion refresh (whole photos per batch): big
# enough to amortise the queries, small enough to keep one write transaction short.
SUGGEST_BATCH = 2000

# After a confirm/reject, unknown faces within (model threshold + this many logistic scales of
# P(d)) of a changed face are judged again: farther away the changed face's same-person
# probability is < 5% (dlib: 0.6 + 3 x 0.04 = 0.72), too little to move a confidence band, and
# it cannot set the runner-up margin of a suggestion (which needs a rival within threshold +
# margin). The full refresh after each analysis corrects anything beyond.
SUGGEST_AFFECTED_SCALES = 3.0

# A change of more faces than this (a bulk accept, an undo of one) re-judges every unknown face
# of the model instead of searching what is near each changed face: the search costs
# changed x unknown distances, and the near set covers most faces by then anyway.
SUGGEST_AFFECTED_FULL_ABOVE = 2000

# A process checks for faces changed by other processes (the worker's analysis, a CLI teach) at
# most this often (seconds) while refreshing after a review action: the check reads every face
# row of the model (~0.1 s at 200k faces), too slow for each click. Its own changes count at
# once; a full refresh (the match stage) always checks.
SUGGEST_SYNC_CHECK_S = 30

# A face boxed by hand (faces_manual) is embedded only when a detector finds a face in the box:
# the crop searched is the box plus this fraction of its long side on every side (detectors
# need the whole head), and the detection must be centred in the box and overlap it by at
# least this IoU. People box heads loosely: a tight HOG box inside a head box drawn 1.5x / 2x
# its side overlaps it by 0.44 / 0.25; a neighbour's face is excluded by the centre rule.
MANUAL_FACE_CONTEXT = 0.5
MANUAL_FACE_MIN_IOU = 0.25

# A face marked by hand over a face the photo already has (at IoU >= this) is refused as a duplicate
# ("name that one instead"). Same evidence as FACE_SAME_IOU below (testdata: boxes of the same head
# by two detectors overlap >= 0.55, different heads 0.0): 0.5 refuses a second box on a detected
# head while a loose hand-drawn box around a neighbour's head is still accepted.
MANUAL_SAME_FACE_IOU = 0.5

# Re-analysis of a changed file: a new detection inherits an old face's name (confirmed, imported)
# when their boxes overlap at least this much. The same head re-detected after an edit or re-save
# overlaps its old box far above this (two different detectors already agree at >= 0.55 on the
# testdata), different heads at 0.0, so a name never jumps to a neighbour.
KEEP_LABEL_IOU = 0.5

# Ids per SQL "IN (...)": below SQLite's 32766 and PostgreSQL's 65535 bound parameters.
SQL_IN_MAX = 10_000

# Rebuild the Annoy index this many seconds after the last change (debounce: a burst of accepts
# causes one rebuild; until then new confirmations are searched exactly).
INDEX_REBUILD_DEBOUNCE_S = 30

# --- metadata writing -------------------------------------------------------------------------

# One exiftool command (read, write or verify of one photo) must answer within this many
# seconds, else the process is killed and restarted: a 100-MP TIFF takes ~2 s on a NAS core.
EXIFTOOL_TIMEOUT_S = 60.0

# Person names written into files are cut to this many characters (after removing control
# characters); far above real names, small enough that no tag field overflows a viewer.
PERSON_NAME_MAX_CHARS = 120

# Coordinates are written with this many decimals: 1e-6 of a 100-MP side is < 0.02 px.
REGION_DECIMALS = 6

# An existing face region of the same person is left as it is (not redrawn with our box) when
# it overlaps the wanted box at least this much (IoU): boxes drawn by other tools (Picasa,
# digiKam, a hand) differ from a detector's by IoU ~0.5 for the same head (portrait.jpg vs
# dlib's CNN detector: 0.53 and 0.53), so rewriting them would only churn the user's files.
REGION_KEEP_MIN_IOU = 0.45

# Importing existing tags: a file region is the same face as a detected one at IoU >= this,
# one-to-one (Hungarian assignment). Tool-drawn boxes include hair/forehead and overlap a
# detector's box of the same head by ~0.5 (see above); different heads overlap ~0.
IMPORT_MATCH_MIN_IOU = 0.3
# Names without a box read from one photo's keywords (PersonInImage, People|Name, ...): at most
# this many become people. A group photo names a few dozen at most; a hostile or broken file
# with thousands would otherwise create thousands of people (the rest are logged, not lost).
IMPORT_MAX_KEYWORD_NAMES = 50
# A Google Takeout photo JSON is 1-3 KB (title, times, geo data, people); a file over this is
# not one and is not read (a hostile file cannot make the analysis read gigabytes).
TAKEOUT_MAX_JSON_BYTES = 1_000_000
# Placing names without boxes across the library (matching/place.py). A placement is sure (it
# becomes a confirmed face) only within PLACE_SURE_DISTANCE x the model threshold of the name's
# evidence and with a margin of PLACE_SURE_MARGIN x the threshold over the photo's next-best
# assignment, the same in two rounds in a row. scripts/evaluate --takeout (README "Names from
# Google Photos"): 0 wrong confirmed faces of 172 on 3 libraries (157 group faces, 91% placed
# surely); even the loosest setting tried (distance <= the threshold, margin >= 0.05 x it; 2
# libraries) confirmed nothing wrongly, so the testdata cannot show the edge: these values keep
# a wide berth (a margin ~4x the matcher's min_margin), and what they leave is suggested, not lost.
PLACE_SURE_DISTANCE = 0.85
PLACE_SURE_MARGIN = 0.25
PLACE_MAX_ROUNDS = 6
# A person without exemplars is placed from at most this many other photos naming them.
PLACE_SHARED_PHOTOS = 50

# Free space: a write needs room for exiftool's temporary copy of the file next to it and for
# the backup on the data volume; on top of that this reserve (config write.min_free_mb
# overrides it) must stay free so the library or database never fills up.
FREE_SPACE_RESERVE_BYTES = 512 * 1024 * 1024

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
# A face named in Immich or PhotoPrism is the same as one of ours at IoU >= this, matched
# one-to-one (Hungarian assignment, as for file regions). Their boxes come from CNN detectors
# (Immich's RetinaFace) or hands (manual faces, PhotoPrism markers): a CNN box of the same head
# overlaps our dlib box by >= 0.55 (the FACE_SAME_IOU measurement above), a head box drawn by hand
# 1.5x / 1.8x the face's side by 0.44 / 0.31; different heads of the testdata overlap 0.0. So 0.3
# keeps loose hand boxes while a neighbour never wins (the one-to-one assignment prefers the
# better overlap anyway). Below it the name becomes a hand-marked face instead.
FOREIGN_FACE_MIN_IOU = 0.3
# An import result lists at most this many conflicts and unmatched names (the counts are whole;
# every conflict stays listed in GET /api/v1/imports/conflicts).
FOREIGN_LISTED_MAX = 200
# Assets per page of Immich's POST /api/search/metadata during a name import (Immich's maximum).
IMMICH_IMPORT_PAGE_SIZE = 1000
# Photos per page of PhotoPrism's GET /api/v1/photos and subjects per page during a name import.
PHOTOPRISM_IMPORT_PAGE_SIZE = 500
# HTTP retries: backoff base * 2^attempt seconds, capped (also caps a server's Retry-After).
HTTP_BACKOFF_BASE_S = 0.5
HTTP_BACKOFF_MAX_S = 8.0
# PhotoPrism indexes inside the request (one folder can take minutes on a NAS): read timeout.
PHOTOPRISM_INDEX_TIMEOUT_S = 600.0

# --- scale-out and operations (claims.py, health.py) -----------------------------------------

# A claimed photo whose worker has not renewed the claim for this long goes back to the pending
# pool (the worker died). Claims are renewed after every photo, so this only has to outlast the
# slowest single photo (a 12-MP photo takes seconds on a NAS core, a 100-MP panorama ~1 min).
PHOTO_CLAIM_LEASE_S = 600

# Housekeeping (requeue dead jobs, start the scheduled rescan) must run once per minute across
# all processes: the tick that takes this lease does it, the others skip. Shorter than the
# one-minute tick, so the next tick always finds it free.
HOUSEKEEPING_LEASE_S = 50

# Worker processes refresh their presence row this often, and a row older than WORKER_SEEN_S
# counts as gone (store/workers.py). Three missed refreshes: a busy database or a long GC pause
# does not make a live worker disappear, a killed one is forgotten within 1.5 minutes.
WORKER_ANNOUNCE_S = 30
WORKER_SEEN_S = 90

# A helper analyze job (scale-out) that lands in a process already analysing goes back to the
# queue for this many seconds, for an idle worker process (or this one when it is free).
SHARED_JOB_RETRY_S = 2.0

# /readyz runs `exiftool -ver` at most this often (seconds): a Docker healthcheck every 30 s
# would otherwise start Perl each time; a removed exiftool shows within this delay.
READY_EXIFTOOL_CACHE_S = 120

# --- login throttle (system/throttle.py) --------------------------------------------------------

# Failed UI logins are counted over this window (seconds). An outside test guessed 15.9
# passwords/s with 40 socket.io clients (the old 1 s delay was per socket), so the limits are
# per client address and for the whole app, not per connection.
LOGIN_WINDOW_S = 900
# Failures one address may make in the window before it must wait; each further failure
# doubles the wait (2, 4, 8 ... s), up to LOGIN_LOCKOUT_MAX_S. A person mistyping stays far
# below 5; a guesser gets about 60 tries an hour instead of 57,000.
LOGIN_FAILURES_PER_CLIENT = 5
LOGIN_LOCKOUT_MAX_S = 900
# Failures from all addresses together in the window before every address must wait between
# attempts (the same doubling): a botnet of addresses is slowed as one client.
LOGIN_FAILURES_OVERALL = 30

# --- importing names other tools wrote (stages/steps/embedded_names.py) ----------------------------------

# A photo with more named face regions than this is not imported (a job warning says so). The
# busiest photo of the shared test data shows 7 faces (a group selfie); hand-tagged class and wedding
# photos have a few dozen. exiftool reads at most 1,000, and an outside test's file of 5,000
# regions became 1,000 people.
IMPORT_MAX_REGIONS_PER_PHOTO = 100
