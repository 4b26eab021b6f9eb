# Production image of tacker-server (Rust). Build: docker build -t tacker-server .
# The Rust release CI tests with; dependency versions come from the exact pins in Cargo.toml
# (.dockerignore keeps build output, a local Cargo.lock and local state out of the context).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p tacker-server

# Runtime: debian:bookworm-slim, the same Debian release as the build stage, so the binary's
# glibc matches; TLS is rustls with its own crypto (no libssl) and the CA bundle comes from
# ca-certificates. curl is the healthcheck's HTTP(S) client (docker-compose.yml probes HTTP,
# HTTPS and mutual TLS listeners alike); it is the only tool added. A distroless base would be
# smaller still but has no shell or client for that probe, and is not on Docker Hub.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 tacker \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/tacker --no-create-home \
        --shell /usr/sbin/nologin tacker \
    && mkdir -p /etc/tacker /opt/tacker /var/lib/tacker/vim/fernet_keys \
    && chown -R tacker:tacker /var/lib/tacker /opt/tacker \
    && chmod 0700 /var/lib/tacker/vim/fernet_keys
COPY --from=build /src/target/release/tacker-server /usr/local/bin/tacker-server
COPY etc/api-paste.ini etc/api-paste-external-oauth2.ini /etc/tacker/
# Non-root; a numeric uid so that Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
WORKDIR /opt/tacker
EXPOSE 9890
ENTRYPOINT ["/usr/local/bin/tacker-server"]
CMD ["--config-file", "/etc/tacker/tacker.conf"]
