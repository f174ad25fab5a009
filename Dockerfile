# Roster in a container: a multi-stage build (Rust's official image to
# build, Debian slim to run), a non-root user, the data directory in a
# volume. Not built in CI (no Docker there); see docs/operations.md.
#
#   docker build -t roster .
#   docker run -p 8080:8080 -v roster-data:/var/lib/roster \
#     -e ROSTER_PUBLIC_URL=https://roster.example.com roster
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin roster \
 && install -m 0755 target/release/roster /usr/local/bin/roster

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 roster \
 && useradd --system --uid 10001 --gid roster --home-dir /var/lib/roster --shell /usr/sbin/nologin roster \
 && install -d -o roster -g roster -m 0700 /var/lib/roster
COPY --from=build /usr/local/bin/roster /usr/local/bin/roster
USER roster:roster
ENV ROSTER_LISTEN=0.0.0.0:8080 \
    ROSTER_DATA_DIR=/var/lib/roster \
    ROSTER_LOG_FORMAT=json
VOLUME ["/var/lib/roster"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD ["/bin/sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /readyz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q '200' <&3"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/roster"]
CMD ["serve"]
