# One image for every service: choose the service with the command, e.g. `python -m services.detector`.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY shared shared
COPY services services
COPY incidentctl incidentctl
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --uid 10001 --create-home app \
    && mkdir -p /var/lib/reports && chown 10001:10001 /var/lib/reports
# /var/lib/reports: the rca service writes reports there (deploy/config/rca.yaml); owned by the app user so that
# a named volume mounted on it starts out writable (compose), as a k8s volume is through fsGroup 10001.
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 10001
WORKDIR /home/app
ENV PYTHONUNBUFFERED=1 HTTP_HOST=0.0.0.0 HTTP_PORT=8080
EXPOSE 8080
CMD ["python", "-m", "services.collector"]
