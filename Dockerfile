# Tag My Photos: one container beside Immich/PhotoPrism. Offline at run time: ExifTool and the
# model weights are put in place here, at build time, by the same scripts/install.sh as the README.
#   docker build -t tagmyphotos .
#   docker build --platform linux/arm64 -t tagmyphotos:arm64 .      # the same file for arm64
#   docker run -p 8765:8765 -v /path/to/photos:/photos -v tmp-data:/data tagmyphotos
# Without a container registry: scripts/docker-build [--arch arm64] (docs/production.md).
# The label org.opencontainers.image.version is the VERSION build arg: scripts/docker-build passes
# tagmyphotos.VERSION; a plain docker build adds --build-arg VERSION=<that number> (else "dev").
# With deepface's TensorFlow models and full API (+1.3 GB; TensorFlow's own wheel on arm64):
#   docker build --build-arg EXTRAS=scaleout,deepface -t tagmyphotos:deepface .
# Native code is compiled for the architecture's baseline (no -march=native), so an image built
# on any x86-64 runs on a NAS CPU without AVX, and the arm64 image on any armv8-a.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build stage: venv, ExifTool, weights (npm and pip caches stay here) -----------------------
FROM ${PYTHON_IMAGE} AS build
ARG EXTRAS=scaleout
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DEEPFACE_HOME=/app/models
WORKDIR /app
# Dependencies first, in their own layer: a change to the source alone reuses it.
COPY pyproject.toml ./
COPY scripts/install.sh scripts/install.sh
RUN TMP_EXTRAS="$EXTRAS" scripts/install.sh --docker --deps-only
COPY scripts/ scripts/
COPY tagmyphotos/ tagmyphotos/
COPY tagmyphotos_app/ tagmyphotos_app/
COPY jobs/ jobs/
COPY ui/ ui/
COPY integrations/ integrations/
RUN TMP_EXTRAS="$EXTRAS" scripts/install.sh --docker \
 && .venv/bin/python -m tagmyphotos.faces.weights --link \
 && .venv/bin/python -m compileall -q tagmyphotos tagmyphotos_app jobs ui integrations

# --- final stage: the venv and the app, run-time system packages only ---------------------------
FROM ${PYTHON_IMAGE}
ARG VERSION=dev
LABEL org.opencontainers.image.title="Tag My Photos" \
      org.opencontainers.image.description="Self-hosted CPU-only face recognition that writes people into your photos' metadata" \
      org.opencontainers.image.version="${VERSION}"
COPY scripts/install.sh /tmp/install/scripts/install.sh
RUN /tmp/install/scripts/install.sh --docker --system-only \
 && rm -rf /tmp/install \
 && groupadd --gid 1000 tagmyphotos \
 && useradd --uid 1000 --gid 1000 --home-dir /home/tagmyphotos --create-home --shell /usr/sbin/nologin tagmyphotos \
 && mkdir -p /photos /data \
 && chown tagmyphotos:tagmyphotos /data
COPY --from=build /app /app
ENV PATH=/app/.venv/bin:/app/.venv/opt/exiftool:$PATH \
    PYTHONUNBUFFERED=1 \
    DEEPFACE_HOME=/app/models \
    NICEGUI_STORAGE_PATH=/data/.nicegui \
    TF_CPP_MIN_LOG_LEVEL=2 \
    TAGMYPHOTOS_CONFIG=/data/config.yaml \
    TAGMYPHOTOS_LIBRARY=/photos \
    TAGMYPHOTOS_DATA=/data \
    TAGMYPHOTOS_HOST=0.0.0.0 \
    TAGMYPHOTOS_PORT=8765 \
    TAGMYPHOTOS_WRITE__EXIFTOOL=/app/.venv/opt/exiftool/exiftool \
    PUID=1000 \
    PGID=1000 \
    TZ=UTC
WORKDIR /data
VOLUME ["/photos", "/data"]
EXPOSE 8765
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["/app/scripts/entrypoint.sh", "healthcheck"]
ENTRYPOINT ["/usr/bin/tini", "--", "/app/scripts/entrypoint.sh"]
CMD ["tagmyphotos", "serve"]
