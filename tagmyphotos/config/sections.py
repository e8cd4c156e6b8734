"""The sections of config.yaml as typed models: every key, its default and what it allows.

Why one typed object passed around explicitly: every component gets exactly the settings it
needs from its caller, so there is no hidden global and a wrong value fails at start with one
line that names the key and what is allowed.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from tagmyphotos import tuning
from tagmyphotos.config.masking import mask_model

# Shortest accepted secrets: a 4-character API key or a 3-character password is guessed at once.
MIN_API_KEY_CHARS = 16
MIN_PASSWORD_CHARS = 8


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ServerConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8765, ge=1, le=65535)
    # The address users open when it is not http://host:port/, e.g. behind a reverse proxy under a
    # sub-path: https://example.com/tagmyphotos/ (the proxy sends X-Forwarded-Prefix). The UI's
    # websocket and cookie-authenticated API writes accept this origin besides their own.
    public_url: str = ""
    storage_secret: SecretStr | None = None
    # Largest upload (reference photos, all files of one request), refused early with 413;
    # at most 200 (the API's upload route is built for ~30 phone photos per request).
    max_upload_mb: int = Field(200, ge=1, le=200)
    # A connection must send its request headers within this many seconds, or it is closed
    # (slow-header connections were held without limit).
    header_timeout_s: float = Field(15.0, gt=0, le=300)

    @field_validator("public_url")
    @classmethod
    def _absolute_http_url(cls, v: str) -> str:
        v = v.strip()
        if not v:
            return ""
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// address, e.g. https://example.com/tagmyphotos/")
        return v.rstrip("/") + "/"


# The photo files a library holds by default (scan.extensions, scan.raw_extensions).
PHOTO_EXTENSIONS = ("jpg", "jpeg", "png", "heic", "heif", "avif", "tif", "tiff", "webp")
RAW_EXTENSIONS = ("dng", "cr2", "cr3", "nef", "arw", "orf", "rw2", "raf")


class ScanConfig(_Section):
    extensions: list[str] = list(PHOTO_EXTENSIONS)
    raw_extensions: list[str] = list(RAW_EXTENSIONS)
    exclude: list[str] = ["**/@eaDir/**", "**/#recycle/**", "**/.thumbnails/**"]
    # Minutes between automatic rescans; 0 switches the periodic rescan off.
    interval_minutes: int = Field(60, ge=0, le=525_600)  # at most a year

    @field_validator("extensions", "raw_extensions")
    @classmethod
    def _lower(cls, v: list[str]) -> list[str]:
        return [e.lower().lstrip(".") for e in v]


class AnalysisConfig(_Section):
    model: Literal["Dlib", "Facenet", "Facenet512", "ArcFace", "VGG-Face", "OpenFace", "SFace", "GhostFaceNet"] = "Dlib"
    # onnx: MTCNN + dlib's landmarks and ResNet on ONNX Runtime, any x86-64/arm64 CPU (default);
    # dlib: the previous engine on dlib-bin (HOG), CPUs with AVX only. Switching re-analyses.
    engine: Literal["onnx", "dlib"] = "onnx"
    # auto (the engine's: onnx mtcnn, dlib hog) | mtcnn | and with engine dlib: hog |
    # hog+mtcnn (MTCNN where HOG finds none) | hog|mtcnn (both, merged)
    detector: Literal["auto", "hog", "hog+mtcnn", "hog|mtcnn", "mtcnn"] = "auto"
    # Longest side, in pixels, of the image the detector sees (coordinates map back).
    detect_max_px: int = Field(tuning.DETECT_MAX_SIDE, ge=320, le=8000)
    min_face_px: int = Field(tuning.MIN_FACE_PX, ge=8, le=10_000)
    workers: int = Field(2, ge=1, le=64)
    # process: one analysis process per worker (dlib holds the GIL); thread: less memory.
    executor: Literal["process", "thread"] = "process"
    # Photos per analysis task; smaller = finer progress and cancel, larger = less overhead.
    batch_size: int = Field(16, ge=1, le=1000)
    max_image_pixels: int = Field(tuning.IMAGE_MAX_PIXELS, ge=1_000_000, le=10_000_000_000)

    @model_validator(mode="after")
    def _detector_of_engine(self) -> AnalysisConfig:
        if self.engine == "onnx" and self.detector not in ("auto", "mtcnn"):
            raise ValueError(
                f"detector {self.detector!r} needs dlib's HOG detector (analysis.engine: dlib, CPUs with AVX); "
                "the onnx engine detects with mtcnn (analysis.detector: auto or mtcnn)"
            )
        return self


class MatchingConfig(_Section):
    # Per-model overrides of the calibrated distance thresholds in tuning.py (empty = defaults).
    distance_threshold: dict[str, float] = {}
    likely_confidence: float = Field(0.8, ge=0, le=1)
    maybe_confidence: float = Field(0.5, ge=0, le=1)
    k: int = Field(7, ge=1, le=100)
    # Read existing face regions from files and sidecars and turn them into confirmed faces.
    import_existing: bool = True


class ReviewConfig(_Section):
    # Unattended naming: "sure" suggestions are accepted by the product itself after each
    # match (matching/sure.py); off = every name waits for the owner in Review.
    auto_accept: Literal["off", "sure"] = "off"
    # At most this many faces named by one automatic run (the rest wait for the next run).
    auto_cap: int = Field(500, ge=1, le=100_000)


# "daily at HH:MM" (24-hour clock, the server's local time)
DAILY_AT = re.compile(r"^daily at ([01]\d|2[0-3]):([0-5]\d)$")
WRITE_AUTO = r"^(off|after_match|daily at ([01]\d|2[0-3]):[0-5]\d)$"  # write.auto, as the API schema says


class WriteConfig(_Section):
    # Names go into the files without a click: off; after_match (after each automatic naming
    # run and each match); "daily at HH:MM" (once a day, everything pending).
    auto: str = Field("off", pattern=WRITE_AUTO)
    mode: Literal["auto", "in-file", "sidecar"] = "auto"
    sidecar_naming: Literal["photo.jpg.xmp", "photo.xmp"] = "photo.jpg.xmp"
    person_in_image: bool = True
    subject_keywords: bool = True
    hierarchical_keywords: bool = True
    digikam_tags: bool = True
    keyword_prefix: str = "People"
    microsoft_regions: bool = False
    preserve_mtime: bool = True
    backup_retention_days: int = Field(90, ge=0, le=36_500)
    # Refuse a bulk write unless this much space stays free on the data volume.
    min_free_mb: int = Field(512, ge=0, le=1_000_000_000)
    exiftool: str = ""
    # Photos written at once, each by its own exiftool (a thread each): one per CPU core.
    workers: int = Field(2, ge=1, le=16)

    @field_validator("auto", mode="before")
    @classmethod
    def _when(cls, v: object) -> object:
        """In plain words before the pattern's own message (which the API schema also states)."""
        if isinstance(v, str) and not re.fullmatch(WRITE_AUTO, v):
            raise ValueError('must be "off", "after_match" or "daily at HH:MM" (for example "daily at 03:30")')
        return v

    def daily_at(self) -> tuple[int, int] | None:
        """(hour, minute) of the daily automatic write, or None."""
        found = DAILY_AT.match(self.auto)
        return (int(found.group(1)), int(found.group(2))) if found else None

    @field_validator("keyword_prefix")
    @classmethod
    def _one_line(cls, v: str) -> str:
        """exiftool reads its arguments line by line: a newline here broke every later write."""
        if any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in v) or len(v) > 100:
            raise ValueError("must be one line of at most 100 characters, without control characters")
        return v


class PathMap(_Section):
    # Our library path prefix -> the prefix the other app sees.
    local_prefix: str = ""
    remote_prefix: str = ""


def http_url(value: str) -> str:
    """An integration's URL: empty, or http(s) with a host (no file:, gopher:, ... schemes)."""
    value = value.strip()
    if value:
        parts = urlsplit(value)
        if any(c.isspace() for c in value):  # urlsplit drops tabs and newlines; a URL has no spaces
            raise ValueError("must be an http:// or https:// URL without spaces")
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host name")
    return value


HttpUrl = Annotated[str, AfterValidator(http_url)]


class ImmichConfig(_Section):
    enabled: bool = False
    url: HttpUrl = ""
    api_key: SecretStr | None = None
    path_map: PathMap = PathMap()
    push_faces: bool = False
    remove_duplicate_ml_faces: bool = False
    # A person renamed here is renamed in Immich at the next name import (PUT /api/people/{id}).
    push_renames: bool = False
    # Import the names given in Immich every this many hours (0 = only when asked).
    import_every_hours: int = Field(0, ge=0, le=24 * 365)


class PhotoPrismConfig(_Section):
    enabled: bool = False
    url: HttpUrl = ""
    token: SecretStr | None = None
    path_map: PathMap = PathMap()
    # Import the names given in PhotoPrism every this many hours (0 = only when asked).
    import_every_hours: int = Field(0, ge=0, le=24 * 365)


class WebhookConfig(_Section):
    enabled: bool = False
    url: HttpUrl = ""
    secret: SecretStr | None = None
    job_events: bool = False  # also job.done / job.failed of scan, analyze, match and write jobs


class HookConfig(_Section):
    # Shared secret of the inbound scan hook (POST /api/v1/hooks/scan, HMAC-SHA256 of the body
    # in X-TagMyPhotos-Signature); without it the hook takes a full-scope API key only.
    secret: SecretStr | None = None


class IntegrationsConfig(_Section):
    immich: ImmichConfig = ImmichConfig()
    photoprism: PhotoPrismConfig = PhotoPrismConfig()
    webhook: WebhookConfig = WebhookConfig()
    hook: HookConfig = HookConfig()
    timeout_s: float = Field(10.0, gt=0, le=300)
    retries: int = Field(3, ge=0, le=10)
    # Bounds of one name import from Immich or PhotoPrism, against a hostile or broken server
    # (issue 25): a photo with more named faces than this is skipped whole, with a warning (like
    # files, tuning.IMPORT_MAX_REGIONS_PER_PHOTO: a hand-tagged class photo has a few dozen).
    import_max_faces_per_photo: int = Field(100, ge=1, le=1000)
    # Reading stops, with a warning, after this many pages (Immich: 1,000 assets each, PhotoPrism
    # 500) or items (assets, photos and people counted together) in one import: far above a real
    # library (2 million assets), and a server whose paging never ends is cut off within minutes.
    import_max_pages: int = Field(2000, ge=1, le=1_000_000)
    import_max_items: int = Field(2_000_000, ge=1, le=1_000_000_000)


class AuthConfig(_Section):
    password: SecretStr | None = None
    api_key: SecretStr | None = None
    # Trusted reverse-proxy header (Authelia/Authentik), e.g. "Remote-User"; empty = off.
    proxy_header: str = ""
    proxy_trusted_ips: list[str] = ["127.0.0.1"]
    # Wrong API keys one address may send in 15 minutes before it must wait (then each more
    # doubles the wait); raise it only for a scratch server under an API fuzzer.
    key_failures_per_address: int = Field(tuning.LOGIN_FAILURES_PER_CLIENT, ge=1, le=1_000_000)

    @field_validator("password")
    @classmethod
    def _password_long_enough(cls, v: SecretStr | None) -> SecretStr | None:
        return _min_secret(v, MIN_PASSWORD_CHARS)

    @field_validator("api_key")
    @classmethod
    def _key_long_enough(cls, v: SecretStr | None) -> SecretStr | None:
        return _min_secret(v, MIN_API_KEY_CHARS)


class QueueConfig(_Section):
    backend: Literal["sqlite", "redis"] = "sqlite"
    redis_url: str = "redis://localhost:6379/0"
    # The key that signs queue messages (jobs/signing.py); empty = data/queue.key, made once.
    # Scale-out workers that do not share the data folder need the same value everywhere.
    secret: SecretStr | None = None

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, v: SecretStr | None) -> SecretStr | None:
        return _min_secret(v, MIN_API_KEY_CHARS)


class DatabaseConfig(_Section):
    # Empty = SQLite in the data folder; postgresql://user:pass@host/db for scale-out.
    url: SecretStr | None = None


class LoggingConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_format: bool = False
    file: bool = False


class Config(_Section):
    library: Path = Path("./library")
    data: Path = Path("./data")
    server: ServerConfig = ServerConfig()
    scan: ScanConfig = ScanConfig()
    analysis: AnalysisConfig = AnalysisConfig()
    matching: MatchingConfig = MatchingConfig()
    review: ReviewConfig = ReviewConfig()
    write: WriteConfig = WriteConfig()
    integrations: IntegrationsConfig = IntegrationsConfig()
    auth: AuthConfig = AuthConfig()
    queue: QueueConfig = QueueConfig()
    database: DatabaseConfig = DatabaseConfig()
    logging: LoggingConfig = LoggingConfig()

    @property
    def db_path(self) -> Path:
        return self.data / "tagmyphotos.db"

    @property
    def queue_path(self) -> Path:
        return self.data / "queue.db"

    @property
    def thumbs_dir(self) -> Path:
        return self.data / "thumbs"

    @property
    def backups_dir(self) -> Path:
        return self.data / "backups"

    @property
    def index_dir(self) -> Path:
        return self.data / "index"

    def masked(self) -> dict[str, Any]:
        """The effective config as plain data with every secret replaced by '********'."""
        return mask_model(self.model_dump(mode="json"), self)


def _min_secret(v: SecretStr | None, chars: int) -> SecretStr | None:
    """An empty secret is unset; a short one is refused (its value never goes in the message)."""
    if v is None or not v.get_secret_value():
        return v
    if len(v.get_secret_value().strip()) < chars:
        raise ValueError(f"too short: at least {chars} characters are needed")
    return v
