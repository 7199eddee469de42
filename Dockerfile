# The contour image: one static-ish binary at /bin/contour (used as `contour serve`,
# `contour bootstrap`, `contour certgen`, `contour envoy shutdown-manager`/`shutdown`).
#
#   docker build -t ghcr.io/projectcontour/contour-rs:main .
FROM docker.io/library/rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p contour \
 && install -D -m 0755 target/release/contour /out/contour

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/contour /bin/contour
USER 65534:65534
ENTRYPOINT ["/bin/contour"]
