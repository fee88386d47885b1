# syntax=docker/dockerfile:1
# Conclave: one executable on a slim Debian base.
#   docker build -t conclave .
#   docker run -p 8443:8443 -p 10000:10000/udp -v conclave-data:/var/lib/conclave conclave

# ---- build: install deps (Bun comes from npm as a devDependency) and compile dist/conclave
FROM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json bunfig.toml tsconfig.json ./
RUN npm ci
COPY src ./src
COPY public ./public
COPY migrations ./migrations
COPY scripts ./scripts
COPY config ./config
RUN npm run build

# ---- runtime: the binary, CA roots and a non-root user; no Node, no Bun, no node_modules
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 conclave \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/conclave --no-create-home --shell /usr/sbin/nologin conclave \
 && install -d -o conclave -g conclave -m 0700 /var/lib/conclave
COPY --from=build /src/dist/conclave /usr/local/bin/conclave
ENV CONCLAVE_DATA_DIR=/var/lib/conclave
VOLUME /var/lib/conclave
# 8443 HTTPS, 8080 HTTP (redirects to HTTPS), 5060 SIP UDP+TCP, 5061 SIP TLS, 10000 WebRTC media (ICE UDP mux)
EXPOSE 8443/tcp 8080/tcp 5060/udp 5060/tcp 5061/tcp 10000/udp
USER conclave
WORKDIR /var/lib/conclave
ENTRYPOINT ["/usr/local/bin/conclave"]
CMD ["serve"]
