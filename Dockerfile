# Production image of tacker-server (Rust). Build: docker build -t tacker-server .
# The Rust release CI tests with; dependency versions come from the exact pins in Cargo.toml.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release -p tacker-server

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/tacker tacker \
    && mkdir -p /etc/tacker /var/lib/tacker/vim/fernet_keys \
    && chown -R tacker /var/lib/tacker && chmod 0700 /var/lib/tacker/vim/fernet_keys
COPY --from=build /src/target/release/tacker-server /usr/local/bin/tacker-server
COPY etc/api-paste.ini etc/api-paste-external-oauth2.ini /etc/tacker/
USER tacker
EXPOSE 9890
ENTRYPOINT ["/usr/local/bin/tacker-server"]
CMD ["--config-file", "/etc/tacker/tacker.conf"]
