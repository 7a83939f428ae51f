#!/usr/bin/env bash
# The build stage of Dockerfile.acceptor / Dockerfile.writer, run on this machine without
# Docker, then the runtime stage's layout checked: a clean copy of the committed tree
# (git archive HEAD, what `docker build` gets minus .dockerignore), pnpm fetch, a frozen
# offline install, `pnpm build` (tsc -b), `pnpm deploy --prod` of @sediment/cli into
# <out>/app/services/cli, the two scripts the images copy, then from outside the
# repository: the entry command's usage, each service's --help, that no development
# dependency was deployed, and a writer started and stopped with SIGTERM (exit 0).
#
#   bash scripts/container-build-check.sh [--keep]     # --keep: leave the temp dirs
#
# What it cannot show: the apt-get step, the base image, and the image's file ownership
# (no Docker engine here). Takes a few minutes (the build is a full tsc -b).
set -Eeuo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
keep=false
[ "${1:-}" = "--keep" ] && keep=true

pm=$(node -p "require('$repo/package.json').packageManager")   # pnpm@x.y.z, as in the Dockerfiles
pnpm() { npx -y "$pm" "$@"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/sediment-image-build.XXXXXX")
out=$(mktemp -d "${TMPDIR:-/tmp}/sediment-image-runtime.XXXXXX")
cleanup() {
  if $keep; then echo "kept: build $work, runtime $out" >&2; else rm -rf "$work" "$out"; fi
}
trap cleanup EXIT
step() { printf '\n--- %s\n' "$*" >&2; }

cd "$work"
step "COPY pnpm-lock.yaml pnpm-workspace.yaml; RUN pnpm fetch (lockfile only)"
git -C "$repo" archive HEAD pnpm-lock.yaml pnpm-workspace.yaml | tar -x -C "$work"
CI=true pnpm fetch --prefer-offline >/dev/null
step "COPY . . (git archive HEAD → $work)"
git -C "$repo" archive HEAD | tar -x -C "$work"
step "RUN pnpm install --frozen-lockfile --offline"
CI=true pnpm install --frozen-lockfile --offline >/dev/null
step "RUN pnpm build"
pnpm build >/dev/null
step "RUN pnpm --filter @sediment/cli deploy --prod → $out/app/services/cli"
mkdir -p "$out/app"
CI=true pnpm --filter @sediment/cli deploy --prod --offline \
  --config.inject-workspace-packages=true "$out/app/services/cli" >/dev/null
mkdir -p "$out/app/deploy/container" "$out/app/deploy/load"
cp deploy/container/healthcheck.mjs "$out/app/deploy/container/"
cp deploy/load/send-otlp.mjs "$out/app/deploy/load/"

cd "$out"   # outside the repository: nothing can resolve from the workspace's node_modules
entry="$out/app/services/cli/dist/main.js"

step "no development dependencies deployed"
for dev in typescript vitest tsx @biomejs; do
  if ls "$out/app/services/cli/node_modules/.pnpm" | grep -q "^${dev}[@+]"; then
    echo "container-build-check: $dev was deployed" >&2
    exit 1
  fi
done
du -sh "$out/app/services/cli" >&2

step "node $entry --help / acceptor --help / writer --help / query --help"
node "$entry" --help | head -1
for cmd in acceptor writer query inspect; do node "$entry" "$cmd" --help | head -1; done

step "writer: start on a local store, health check, SIGTERM → exit 0"
data=$(mktemp -d "$out/data.XXXXXX")
admin=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
SEDIMENT_STORE="file://$data" SEDIMENT_FLIGHT_PORT=0 SEDIMENT_WRITER_ADMIN_PORT="$admin" \
  node "$entry" writer >"$out/writer.log" 2>&1 &
pid=$!
for _ in $(seq 1 60); do
  if SEDIMENT_WRITER_ADMIN_PORT="$admin" node "$out/app/deploy/container/healthcheck.mjs" writer 2>/dev/null; then
    break
  fi
  sleep 0.5
done
SEDIMENT_WRITER_ADMIN_PORT="$admin" node "$out/app/deploy/container/healthcheck.mjs" writer
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
if [ "$status" -ne 0 ]; then
  cat "$out/writer.log" >&2
  echo "container-build-check: writer exited $status after SIGTERM" >&2
  exit 1
fi

step "ok: the image build steps work and the deployed tree runs on its own"
