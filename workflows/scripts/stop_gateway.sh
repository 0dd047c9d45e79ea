#!/usr/bin/env bash
# Stop the dask-gateway server started by start_gateway.sh [DIR], with every cluster it started.
# SIGTERM lets the server stop its clusters; any scheduler or worker still running in DIR/clusters
# afterwards (the server was killed) is stopped by its pid. Exits 1 naming what did not stop.
set -uo pipefail
DIR="${1:-${B2DARK_GATEWAY_DIR:-${TMPDIR:-/tmp}/b2dark-gateway-$(id -un)}}"
[ -d "$DIR" ] || { echo "[stop_gateway] nothing to stop: no $DIR"; exit 0; }
DIR="$(cd "$DIR" && pwd)"

alive() { [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
stop_pid() {  # stop_pid PID WHAT: SIGTERM, then SIGKILL after 30 s
    alive "$1" || return 0
    echo "[stop_gateway] stopping $2 (pid $1)"
    kill "$1" 2>/dev/null
    for _ in $(seq 1 300); do alive "$1" || return 0; sleep 0.1; done
    kill -9 "$1" 2>/dev/null
    for _ in $(seq 1 50); do alive "$1" || return 0; sleep 0.1; done
}
cluster_pids() {  # processes whose working directory is one of the gateway's cluster directories
    for cwd in /proc/[0-9]*/cwd; do
        target="$(readlink "$cwd" 2>/dev/null)" || continue
        case "$target" in "$DIR/clusters/"*) pid="${cwd#/proc/}"; echo "${pid%/cwd}" ;; esac
    done
}

[ -s "$DIR/gateway.pid" ] && stop_pid "$(cat "$DIR/gateway.pid")" dask-gateway-server
for pid in $(cluster_pids); do stop_pid "$pid" "left-over cluster process $(tr '\0' ' ' < "/proc/$pid/cmdline" | cut -c1-80)"; done

left=""
[ -s "$DIR/gateway.pid" ] && alive "$(cat "$DIR/gateway.pid")" && left="dask-gateway-server $(cat "$DIR/gateway.pid")"
for pid in $(cluster_pids); do alive "$pid" && left="$left $pid"; done
rm -f "$DIR/gateway.pid"
if [ -n "$left" ]; then echo "stop_gateway.sh: still running: $left" >&2; exit 1; fi
echo "[stop_gateway] stopped ($DIR)"
exit 0
