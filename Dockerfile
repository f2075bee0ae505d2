# syntax=docker/dockerfile:1
# Vectorizer: build a self-contained single file, run it as a non-root user on a slim Debian.
#   docker build -t vectorizer .
#   docker run -d -p 15002:15002 -v vectorizer-data:/var/lib/vectorizer vectorizer
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Vectorizer -c Release -r linux-x64 --self-contained -p:PublishSingleFile=true \
      -p:IncludeNativeLibrariesForSelfExtract=true -p:DebugType=none -o /out

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 vectorizer \
 && useradd --system --uid 10001 --gid vectorizer --home-dir /var/lib/vectorizer --shell /usr/sbin/nologin vectorizer \
 && install -d -o vectorizer -g vectorizer -m 0750 /var/lib/vectorizer
COPY --from=build /out/vectorizer /usr/bin/vectorizer
COPY packaging/config.yml /etc/vectorizer/config.yml
# In a container the server listens on every interface (publish the port to choose who reaches it).
ENV VECTORIZER_CONFIG=/etc/vectorizer/config.yml \
    VECTORIZER_HOST=0.0.0.0 \
    DOTNET_BUNDLE_EXTRACT_BASE_DIR=/var/lib/vectorizer/.bundle
USER vectorizer
WORKDIR /var/lib/vectorizer
VOLUME ["/var/lib/vectorizer"]
EXPOSE 15002
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s --retries=3 \
  CMD curl -fsS http://127.0.0.1:15002/healthz || exit 1
# SIGTERM (docker stop) drains requests, flushes WALs and checkpoints: give it time (docker stop -t 60).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/vectorizer"]
CMD ["serve"]
