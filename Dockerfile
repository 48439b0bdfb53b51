# One image for every role: `geoalert run --role poller|matcher|dispatcher|api`.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# The pinned versions first (requirements.lock, from pip-compile): every build installs
# the same dependencies, and this layer is rebuilt only when the lock changes.
COPY requirements.lock ./
RUN pip install -r requirements.lock && useradd --uid 10001 --create-home geoalert
COPY pyproject.toml README.md ./
COPY service ./service
COPY notifiers ./notifiers
RUN pip install --no-deps .
COPY rules ./rules
COPY seeds ./seeds

USER geoalert
# Containers reach each other over the network: listen beyond loopback
# (the api role then requires GEOALERT_API_TOKEN). Every role touches the
# heartbeat file while it runs; `geoalert healthcheck` reads it.
ENV GEOALERT_HTTP_HOST=0.0.0.0 \
    GEOALERT_DATA_DIR=/home/geoalert/data \
    GEOALERT_HEARTBEAT_FILE=/tmp/geoalert.heartbeat
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["geoalert", "healthcheck"]
ENTRYPOINT ["geoalert"]
CMD ["run"]
