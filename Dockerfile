# One image for every role: `geoalert run --role poller|matcher|dispatcher|api`.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY service ./service
COPY notifiers ./notifiers
RUN pip install . && useradd --uid 10001 --create-home geoalert
COPY rules ./rules
COPY seeds ./seeds

USER geoalert
# Containers reach each other over the network: listen beyond loopback
# (the api role then requires GEOALERT_API_TOKEN).
ENV GEOALERT_HTTP_HOST=0.0.0.0 \
    GEOALERT_DATA_DIR=/home/geoalert/data
EXPOSE 8080
ENTRYPOINT ["geoalert"]
CMD ["run"]
