# Pharos on the official Deno image, pinned to the project's Deno (deno.json, .ci/run).
#   docker build -t pharos .   (or `docker compose up`, see compose.yaml)
FROM denoland/deno:2.9.6

ENV DENO_NO_UPDATE_CHECK=1 \
    DENO_NO_PROMPT=1 \
    PORT=8877 \
    PHAROS_HOST=0.0.0.0

WORKDIR /app
# Build and run as the image's unprivileged `deno` user, so the module cache (DENO_DIR,
# /deno-dir in this image) is owned by the user that runs the server.
RUN chown deno:deno /app
USER deno

# Dependencies first: this layer is rebuilt only when the import map or the lock changes.
COPY --chown=deno:deno deno.json deno.lock ./
RUN deno install --frozen

# Then the sources; cache the module graph of the entry point (fails on a stale lock).
COPY --chown=deno:deno . .
RUN deno install --frozen --entrypoint main.ts

EXPOSE 8877

# The image has no curl: probe readiness with Deno itself. /ready is 503 while a required
# source is unhealthy or the server drains on shutdown, so the container turns unhealthy then.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["deno", "eval", "const r = await fetch(`http://127.0.0.1:${Deno.env.get('PORT') ?? '8877'}/ready`); await r.body?.cancel(); Deno.exit(r.ok ? 0 : 1)"]

# deno.json's start task, run directly (the permission set `server`: net, env, read, run):
# `deno task` would print its own `Task start …` line, the one line of the container's
# output that is not JSON when PHAROS_LOG_FORMAT=json.
CMD ["deno", "run", "--quiet", "-P=server", "main.ts"]
