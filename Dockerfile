# Silo control plane image.
#   docker build -t silo .
#   docker run --rm -p 127.0.0.1:8080:8080 -e SILO_CENTRAL_DSN=... \
#     -e SILO_JWT_SECRET=... -e SILO_MASTER_KEY=... silo
# See docker-compose.yml for a complete setup with MySQL.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Dependencies first so they stay cached while the source changes.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/silo ./cmd/silo

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/silo /silo
USER nonroot:nonroot
# /home/nonroot is writable by nonroot (only matters with SILO_ENV=development,
# which writes its secrets into $HOME/.config/silo/dev-secrets.json).
WORKDIR /home/nonroot
ENV SILO_ENV=production
ENV SILO_LISTEN=0.0.0.0:8080
EXPOSE 8080
# No curl in distroless: the binary checks http://$SILO_LISTEN/healthz itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
	CMD ["/silo", "healthcheck"]
ENTRYPOINT ["/silo"]
CMD ["serve"]
