"""What was calibrated: the thresholds recognition, matching and certainty depend on, in one place.

Each constant has a short note of what it decides and how it was set; the measurements behind
them are in docs/calibration.md (the section named beside each), made on ../shared/testdata
and never tuned to pass a test. Config values (config.yaml) override some of these per
installation. Plain limits used by one module (page sizes, timeouts, batch sizes) live beside
their code; the few left here are shared by several modules or are a config default.
"""

# --- detection (faces/detect.py, faces/mtcnn.py, faces/engine_onnx.py) -------------------------
# Measurements: docs/calibration.md#detection

# Decompression-bomb guard: photos over this many pixels are refused with a clear error
# (108-MP phone sensors exist; config analysis.max_image_pixels overrides it).
IMAGE_MAX_PIXELS = 120_000_000

# Detection runs on the photo bounded to this long side (config analysis.detect_max_px).
DETECT_MAX_SIDE = 1024

# MTCNN: smallest face searched (px in the detection image), pyramid step and the three stages'
# probability thresholds (the mtcnn package's defaults, with a stricter last stage).
MTCNN_MIN_FACE_PX = 24
# The onnx engine's MTCNN looks for faces of at least this many px in the detection image:
# 32 found all 61 labelled faces in both runs, 40 lost one, 24 cost 1.5x the CPU for nothing.
ENGINE_MTCNN_MIN_FACE_PX = 32
# ...the largest "smallest face": smaller photos are searched down to analysis.min_face_px as far
# as the cost of a 4:3 photo (this aspect) at the detection size searched down to 32 px allows.
MTCNN_BUDGET_ASPECT = 0.75
MTCNN_SCALE_FACTOR = 0.709
MTCNN_THRESHOLDS = (0.6, 0.7, 0.85)

# Faces smaller than this (shorter box side, oriented full-resolution px) are ignored (config
# analysis.min_face_px); 20, not 40: the quarter-size copies' likely recall 0.869 -> 0.989.
MIN_FACE_PX = 20

# --- landmarks, chips and face quality (faces/align.py, faces/roll.py, faces/analyze.py) -------
# Measurements: docs/calibration.md#landmarks-chips-and-face-quality

# An MTCNN box mapped to the HOG-like box dlib's landmark model was trained on: centre shift
# (x, y) as a fraction of the box, then width and height factors (medians over 67 faces).
MTCNN_TO_HOG_BOX = (0.0, 0.09, 1.11, 0.81)

# dlib's 5-point predictor runs on the box scaled by each factor and the points are averaged:
# likely recall 0.986 with one box, 0.991 with three (dlib engine: 0.989).
LANDMARK_BOX_SCALES = (0.95, 1.0, 1.05)

# Faces rolled in the image plane (faces/roll.py): MTCNN's eye line tilted by at least this many
# degrees turns the face upright before the landmarks (±40° copies: 0.62 -> 0.10 at most).
ROLL_UPRIGHT_MIN_DEG = 15.0

# Chips are cut from the reduced JPEG decode when every face has at least this many px across
# in it (more than the 150 px chip holds once padded), else the photo is decoded again...
CHIP_SOURCE_MIN_FACE_PX = 150
# ...at most this long side (~27 MP at 4:3, ~190 MB transient): a NAS's memory budget.
CHIP_SOURCE_MAX_SIDE = 6000

# dlib's canonical chip: size (px) and padding around the 5-point-aligned face; the ResNet was
# trained on 150 px chips with padding 0.25 (dlib's own default).
CHIP_SIZE = 150
CHIP_PADDING = 0.25

# Quality (0..1) = size factor x sharpness factor, each saturating here: a face >= 160 px, a
# Laplacian variance >= 100 on the grey chip (95% of the testdata faces reach 100).
QUALITY_GOOD_FACE_PX = 160
QUALITY_GOOD_SHARPNESS = 100.0

# A chip less sharp than this is embedded twice, as it is and mirrored, and the vectors averaged:
# blurred copies' likely recall 0.920 -> 0.946, strangers unchanged (every face: +31 strangers).
FLIP_AVERAGE_BELOW_SHARPNESS = QUALITY_GOOD_SHARPNESS

# Face thumbnails: a square JPEG of this size (px).
THUMB_SIZE = 160

# --- matching (matching/match.py, matching/index.py) -------------------------------------------
# Measurements: docs/calibration.md#matching-models-bands-and-the-k-nn-vote

# Per embedding model: (metric, distance threshold, logistic scale, margin). Dlib: dlib's LFW
# threshold 0.60 (testdata equal-error distance 0.598), fitted scale 0.040, margin one scale;
# the other models: deepface's published thresholds, not calibrated here.
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

# Confidence bands (config matching.likely_confidence / maybe_confidence): "likely" 100% right
# on the testdata, naming 99% of faces; hard faces fall to "maybe" (no per-quality bands).
MATCH_LIKELY_CONFIDENCE = 0.80
MATCH_MAYBE_CONFIDENCE = 0.50

# k of the k-NN vote (config matching.k), and how many more neighbours are fetched to find the
# nearest conflicting person and to survive rejected persons being filtered out.
MATCH_K = 7
MATCH_FETCH_EXTRA = 14
# Weight of a person's other neighbours after their nearest (correlated evidence counts half):
# w = 0 / 0.5 / 1 gave likely recall 0.983 / 0.989 / 0.997 and 18 / 20 / 24 strangers named.
MATCH_AGREE_WEIGHT = 0.5
# Look-alikes: a person's gap to the nearest face of another person, taken over this many
# neighbours of each confirmed face, replaces the threshold as the centre of their P(d).
MATCH_LOOKALIKE_NEIGHBOURS = 10

# Below this many confirmed faces exact numpy search is as fast as Annoy, and exact.
INDEX_EXACT_BELOW = 1000
# Exact search processes queries in blocks of at most this many distance cells (memory bound).
INDEX_EXACT_CHUNK_CELLS = 16_000_000

# --- "sure": the level the product names by itself (matching/sure.py) --------------------------
# Measurements: docs/calibration.md#the-sure-rules-values
# The nearest wrong suggestion of any level lay 0.507 from its person's evidence (open set with
# hard copies); the rule's values keep clear of it. Distances are for the Dlib threshold:
SURE_REFERENCE_THRESHOLD = 0.60
# The face within this of a person-confirmed face (0.507 - two logistic scales, 0.08).
SURE_DISTANCE = 0.42
# At least this many distinct confirmed photos agree, each within SURE_SUPPORT_DISTANCE.
SURE_SUPPORT = 2
SURE_SUPPORT_DISTANCE = 0.50
# No other named person within this more (2.5 scales): a look-alike.
SURE_RIVAL_MARGIN = 0.10
# Confirmed faces closer than this to each other (a copy, a burst shot) count once as support.
SURE_DUPLICATE_DISTANCE = 0.10
# Unnamed faces looked at for rule 4 (an unnamed look-alike nearer than the evidence).
SURE_UNNAMED_NEIGHBOURS = 10

# --- clustering unknown faces (matching/cluster.py) --------------------------------------------
# Measurements: docs/calibration.md#clustering-unknown-faces
# Distances as ratios of the model threshold.

# Edge of the chinese-whispers graph (dlib's 0.5): the 13 identities found exactly (ARI 1.0).
CLUSTER_EDGE_RATIO = 0.5 / 0.6
# A new face joins a cluster within 0.42 of its centroid (95% of faces are within 0.385).
CLUSTER_JOIN_RATIO = 0.7
# Outliers: beyond 0.42 always; below, beyond median + 3.5 robust deviations, never below 0.30.
CLUSTER_OUTLIER_RATIO = 0.7
CLUSTER_OUTLIER_MADS = 3.5
CLUSTER_OUTLIER_FLOOR_RATIO = 0.5 / 0.7
# "Looks different": an outlier AND farther than 0.49 from the other members' centroid
# (779 of 780 strangers flagged, no own face in the 13 regrouped groups).
CLUSTER_LOOKS_DIFFERENT_RATIO = 0.49 / 0.6
# Faces kept out of clusters: shorter side below 64 px, detector score below 0.3, or quality
# below 0.35 (e.g. a 160 px face with a Laplacian variance under 35).
CLUSTER_MIN_FACE_PX = 64
CLUSTER_MIN_DET_SCORE = 0.3
CLUSTER_MIN_QUALITY = 0.35

# --- merge suggestions (matching/merge.py, review/merges.py) -----------------------------------
# Measurements: docs/calibration.md#merge-suggestions-and-similar-names

# Two people whose confirmed faces' centroids are closer than this ratio of the threshold are
# "maybe one person" (dlib: 0.55): every split found, 9 of 1,560 different pairs listed.
MERGE_DISTANCE_RATIO = 0.55 / 0.6
# Faces of each person shown as evidence of a merge suggestion (best quality first).
MERGE_EVIDENCE_FACES = 4

# --- review and suggestions (review/, suggest/) ------------------------------------------------

# "Did you mean ...?" for a new name this similar to an existing one (difflib ratio, case-folded):
# one typo in a 7-letter name, below "Anna"/"Anne" (0.75). docs/calibration.md#merge-suggestions-and-similar-names
NAME_SIMILAR_RATIO = 0.85

# Faces judged per database round trip in a suggestion refresh (whole photos per batch): big
# enough to amortise the queries, small enough to keep one write transaction short.
SUGGEST_BATCH = 2000

# After a confirm/reject, unknown faces within (threshold + this many logistic scales) of a
# changed face are judged again: farther, its same-person probability is < 5% (dlib: 0.72).
# docs/calibration.md#merge-suggestions-and-similar-names
SUGGEST_AFFECTED_SCALES = 3.0

# Ids per SQL "IN (...)": below SQLite's 32766 and PostgreSQL's 65535 bound parameters.
SQL_IN_MAX = 10_000

# --- box overlaps: the same face? (IoU thresholds) ---------------------------------------------
# Measurements: docs/calibration.md#box-overlaps-the-same-face
# Boxes of the same head by two detectors overlap >= 0.55 on the testdata, different heads 0.0;
# boxes drawn by hand or by other tools overlap a detector's by 0.25-0.53.

# Two detectors' boxes are the same head (Immich's duplicate ML faces).
FACE_SAME_IOU = 0.4
# A face named in Immich or PhotoPrism is one of ours (one-to-one); below, a hand-marked face.
FOREIGN_FACE_MIN_IOU = 0.3
# A region already in a file is the same face as a detected one (one-to-one).
IMPORT_MATCH_MIN_IOU = 0.3
# A region of the same person already in the file is left as it is (not redrawn with our box).
REGION_KEEP_MIN_IOU = 0.45
# A face marked by hand over a face the photo already has is refused as a duplicate.
MANUAL_SAME_FACE_IOU = 0.5
# Re-analysis of a changed file: a new detection inherits an old face's name.
KEEP_LABEL_IOU = 0.5
# A face boxed by hand (faces/manual.py) is searched in the box plus this fraction of its long
# side on every side, and the detection must overlap the box by at least this IoU.
MANUAL_FACE_CONTEXT = 0.5
MANUAL_FACE_MIN_IOU = 0.25

# --- names without boxes (matching/place.py, metadata/) ----------------------------------------
# Measurements: docs/calibration.md#placing-names-the-sure-placement

# A placement becomes a confirmed face only within this x the threshold of the name's evidence,
# with a margin of this x the threshold over the photo's next-best assignment, two rounds alike:
# 0 wrong confirmed faces of 172, and even looser values confirmed nothing wrongly.
PLACE_SURE_DISTANCE = 0.85
PLACE_SURE_MARGIN = 0.25

# --- limits several modules share, and config defaults ----------------------------------------

# Files are hashed in chunks of this size (bytes): large enough for throughput, small enough to
# keep memory flat on a NAS (the scan and the backups).
HASH_CHUNK_BYTES = 1 << 20

# Person names written into files are cut to this many characters (after removing control
# characters); far above real names, small enough that no tag field overflows a viewer.
PERSON_NAME_MAX_CHARS = 120

# Names without a box read from one photo's keywords (PersonInImage, People|Name, ...): at most
# this many become people; a hostile file with thousands would create thousands of people.
IMPORT_MAX_KEYWORD_NAMES = 50

# A photo with more named face regions than this is not imported (a job warning says so):
# hand-tagged class photos have a few dozen; an outside test's 5,000 regions became 1,000 people.
IMPORT_MAX_REGIONS_PER_PHOTO = 100

# Failed logins (and wrong API keys) one address may make in the window before it must wait;
# each further one doubles the wait (2, 4, 8 ... s; system/throttle.py). A person mistyping stays
# far below 5; a guesser gets about 60 tries an hour instead of 57,000.
LOGIN_FAILURES_PER_CLIENT = 5

# Housekeeping (requeue dead jobs, start the scheduled rescan) runs once per minute across all
# processes: the tick that takes this lease does it. Shorter than the tick, so the next finds it free.
HOUSEKEEPING_LEASE_S = 50

# A helper analyze job (scale-out) that lands in a process already analysing goes back to the
# queue for this many seconds, for an idle worker process (or this one when it is free).
SHARED_JOB_RETRY_S = 2.0
