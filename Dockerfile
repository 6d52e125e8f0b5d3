# syntax=docker/dockerfile:1
#
# Container image for shared deployments: `serve --http` (docs/http.md).
# A static binary on distroless, running as non-root (uid 65532).
#
#   docker build -t vsphere-mcp-pro \
#     --build-arg VERSION="$(git describe --tags --always)" \
#     --build-arg COMMIT="$(git rev-parse --short HEAD)" \
#     --build-arg DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)" .
#
# The stdio binary (what Claude Desktop launches) is not this image's job:
# install it from the release archives.

# go1.26.10 fixes standard-library vulnerabilities of go1.26.8 reachable
# through net/http and crypto/tls; this image serves HTTP, so build with it.
ARG GO_VERSION=1.26.10

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download && go mod verify
COPY . .
ARG VERSION=dev
ARG COMMIT=
ARG DATE=
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" \
      -o /out/vsphere-mcp-pro . \
 && /out/vsphere-mcp-pro version

# static-debian12 has CA certificates (for vCenter's TLS), tzdata and a
# nonroot user, and nothing else: no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/vsphere-mcp-pro /vsphere-mcp-pro
# A published port reaches the container's own interface, not its
# loopback, so the server listens on all of them here. It then refuses to
# start without a token policy (TOKENS_TO_ROLES or POLICY_FILE).
ENV SERVER_HOST=0.0.0.0 \
    SERVER_PORT=8000
EXPOSE 8000
USER nonroot:nonroot
LABEL org.opencontainers.image.title="vsphere-mcp-pro" \
      org.opencontainers.image.description="MCP server for VMware vCenter 8: Streamable HTTP with per-request bearer tokens" \
      org.opencontainers.image.licenses="MIT"
ENTRYPOINT ["/vsphere-mcp-pro"]
CMD ["serve", "--http"]
