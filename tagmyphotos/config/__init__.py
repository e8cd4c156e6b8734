"""Configuration: config.yaml, overridden by TAGMYPHOTOS_* environment variables, validated once.

Why a package with this thin front: the typed sections (sections), reading and merging them
(loading) and showing them safely (masking) are three concerns; every caller imports from
`tagmyphotos.config` and need not know which module holds a name.

Modules:
- sections: the typed models of every section, with their defaults and checks
- loading: config.yaml and TAGMYPHOTOS_* variables merged and validated (load_config, ConfigError)
- masking: secrets and URL credentials masked wherever a setting is shown
"""

from tagmyphotos.config.loading import (
    DEFAULT_CONFIG_FILE,
    ENV_PREFIX,
    ConfigError,
    deep_merge,
    env_overrides,
    load_config,
)
from tagmyphotos.config.masking import (
    MASK,
    SECRET_NAMES,
    SECRET_PATH_URLS,
    mask_model,
    mask_setting,
    mask_url,
    mask_urls_in,
)
from tagmyphotos.config.sections import (
    DAILY_AT,
    MIN_API_KEY_CHARS,
    MIN_PASSWORD_CHARS,
    PHOTO_EXTENSIONS,
    RAW_EXTENSIONS,
    WRITE_AUTO,
    AnalysisConfig,
    AuthConfig,
    Config,
    DatabaseConfig,
    HookConfig,
    HttpUrl,
    ImmichConfig,
    IntegrationsConfig,
    LoggingConfig,
    MatchingConfig,
    PathMap,
    PhotoPrismConfig,
    QueueConfig,
    ReviewConfig,
    ScanConfig,
    ServerConfig,
    WebhookConfig,
    WriteConfig,
    http_url,
)

__all__ = [
    "DAILY_AT",
    "DEFAULT_CONFIG_FILE",
    "ENV_PREFIX",
    "MASK",
    "MIN_API_KEY_CHARS",
    "MIN_PASSWORD_CHARS",
    "PHOTO_EXTENSIONS",
    "RAW_EXTENSIONS",
    "SECRET_NAMES",
    "SECRET_PATH_URLS",
    "WRITE_AUTO",
    "AnalysisConfig",
    "AuthConfig",
    "Config",
    "ConfigError",
    "DatabaseConfig",
    "HookConfig",
    "HttpUrl",
    "ImmichConfig",
    "IntegrationsConfig",
    "LoggingConfig",
    "MatchingConfig",
    "PathMap",
    "PhotoPrismConfig",
    "QueueConfig",
    "ReviewConfig",
    "ScanConfig",
    "ServerConfig",
    "WebhookConfig",
    "WriteConfig",
    "deep_merge",
    "env_overrides",
    "http_url",
    "load_config",
    "mask_model",
    "mask_setting",
    "mask_url",
    "mask_urls_in",
]
