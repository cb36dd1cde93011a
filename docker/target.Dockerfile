# firedrill-target:test — a FROM scratch image holding one static firedrill binary that serves
# `firedrill target` (a tiny HTTP service with /health) and checks itself with `firedrill probe`.
# Build it with docker/build-target-image.sh. A release image of firedrill itself can follow the
# same recipe with a different ENTRYPOINT.
FROM scratch
COPY firedrill /firedrill
EXPOSE 8080
# One-second checks so tests and demos see health changes quickly; `docker run --health-*`
# flags override these per container.
HEALTHCHECK --interval=1s --timeout=1s --retries=1 \
    CMD ["/firedrill", "probe", "--timeout", "900ms", "http://127.0.0.1:8080/health"]
ENTRYPOINT ["/firedrill", "target", "--bind", "0.0.0.0", "--port", "8080"]
