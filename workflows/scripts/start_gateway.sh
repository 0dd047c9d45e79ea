#!/usr/bin/env bash
# Start a dask-gateway server on this machine (localhost only), for tests and for trying
# `b2dark run --executor dask@gateway` or notebooks/analysis_facility.py without a facility.
#
#   workflows/scripts/start_gateway.sh [DIR]        (stop it with workflows/scripts/stop_gateway.sh [DIR])
#
# Needs `pip install 'b2dark[gateway]'` (dask-gateway + dask-gateway-server[local]). No root: the server
# uses dask-gateway-server's UnsafeLocalBackend, which starts each cluster's scheduler and workers as
# processes of the user who runs this script (LocalBackend would need root and a Unix account per gateway
# user). Authentication: the simple authenticator, one password for every user name (testing only; a
# facility uses JupyterHub or Kerberos). Idempotent: a server already answering in DIR is left running.
#
# DIR (default ${TMPDIR:-/tmp}/b2dark-gateway-$USER) receives gateway_config.py, password (mode 600),
# gateway.env (address + password, for `source`), run_options.yaml (for b2dark run), gateway.log,
# gateway.pid and clusters/ (one working directory per running cluster).
# Environment: PYTHON (default: python3; its environment must have b2dark and the gateway packages),
# B2DARK_GATEWAY_PORT (default: a free port), B2DARK_GATEWAY_PASSWORD (default: random),
# B2DARK_GATEWAY_TIMEOUT (seconds to wait for the server, default 120).
set -euo pipefail

PYTHON="${PYTHON:-python3}"
DIR="${1:-${B2DARK_GATEWAY_DIR:-${TMPDIR:-/tmp}/b2dark-gateway-$(id -un)}}"
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
TIMEOUT="${B2DARK_GATEWAY_TIMEOUT:-120}"
log() { echo "[start_gateway] $*"; }

if ! "$PYTHON" -c "import dask_gateway, dask_gateway_server.backends.local" 2>/dev/null; then
    echo "start_gateway.sh: cannot run $PYTHON, or it cannot import dask_gateway / dask_gateway_server:" \
         "pip install 'b2dark[gateway]' into that environment (or set PYTHON=/path/to/venv/bin/python)" >&2
    exit 3
fi
mkdir -p "$DIR/clusters"
DIR="$(cd "$DIR" && pwd)"
chmod 700 "$DIR"

healthy() {  # healthy ADDRESS: the gateway's API answers
    "$PYTHON" - "$1" <<'PY' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1] + "/api/health", timeout=5) as r:
    sys.exit(0 if r.status == 200 else 1)
PY
}

if [ -s "$DIR/gateway.pid" ] && kill -0 "$(cat "$DIR/gateway.pid")" 2>/dev/null && [ -s "$DIR/gateway.env" ]; then
    # shellcheck disable=SC1091
    address="$(. "$DIR/gateway.env"; echo "$B2DARK_GATEWAY_ADDRESS")"
    if healthy "$address"; then
        log "dask-gateway already running: $address (pid $(cat "$DIR/gateway.pid"), $DIR)"
        exit 0
    fi
fi

PORT="${B2DARK_GATEWAY_PORT:-$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
ADDRESS="http://127.0.0.1:$PORT"
if [ -n "${B2DARK_GATEWAY_PASSWORD:-}" ]; then
    PASSWORD="$B2DARK_GATEWAY_PASSWORD"
else
    PASSWORD="$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(18))')"
fi
(umask 077; printf '%s\n' "$PASSWORD" > "$DIR/password")
BIN="$(dirname "$("$PYTHON" -c 'import sys; print(sys.executable)')")"

cat > "$DIR/gateway_config.py" <<CONF
# Written by b2dark workflows/scripts/start_gateway.sh: a localhost dask-gateway for testing.
from dask_gateway_server.options import Float, Integer, Options

c = get_config()  # noqa: F821 (traitlets config loader)
# API, dashboards and scheduler traffic through the proxy on one localhost port
c.Proxy.address = "127.0.0.1:$PORT"
c.Gateway.backend_class = "dask_gateway_server.backends.local.UnsafeLocalBackend"
c.Gateway.authenticator_class = "dask_gateway_server.auth.SimpleAuthenticator"
c.SimpleAuthenticator.password = open("$DIR/password").read().strip()
c.LocalBackend.clusters_directory = "$DIR/clusters"
# schedulers and workers run this environment's dask, and import this checkout's b2dark
c.ClusterConfig.scheduler_cmd = ["$BIN/dask-scheduler"]
c.ClusterConfig.worker_cmd = ["$BIN/dask-worker"]
# (PYTHONPATH is inherited from the server, which this script starts with the checkout in front)
c.ClusterConfig.environment = {"OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
c.ClusterConfig.cluster_max_workers = 4
c.ClusterConfig.idle_timeout = 3600
# what a user may choose per cluster (gateway.cluster_options in the run options; a facility offers
# e.g. the worker image here)
c.Backend.cluster_options = Options(
    Integer("worker_cores", default=1, min=1, max=2, label="Worker cores"),
    Float("worker_memory", default=1.5, min=0.5, max=4, label="Worker memory (GiB)"),
    handler=lambda options: {
        "worker_cores": options.worker_cores,
        "worker_threads": 1,
        "worker_memory": int(options.worker_memory * 2**30),
    },
)
CONF

cat > "$DIR/gateway.env" <<ENV
export B2DARK_GATEWAY_ADDRESS=$ADDRESS
export B2DARK_GATEWAY_PASSWORD=$PASSWORD
ENV
chmod 600 "$DIR/gateway.env"
cat > "$DIR/run_options.yaml" <<YAML
# b2dark run SEARCH --run-options $DIR/run_options.yaml  (after: source $DIR/gateway.env)
executor: dask@gateway
gateway:
  address: $ADDRESS
  auth: basic
  workers: 2
YAML

log "starting dask-gateway-server on $ADDRESS (config $DIR/gateway_config.py)"
cd "$DIR"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
nohup "$PYTHON" -m dask_gateway_server -f "$DIR/gateway_config.py" > "$DIR/gateway.log" 2>&1 < /dev/null &
echo $! > "$DIR/gateway.pid"
for _ in $(seq 1 "$((TIMEOUT * 2))"); do
    if healthy "$ADDRESS"; then
        log "dask-gateway is up: $ADDRESS (pid $(cat "$DIR/gateway.pid"), user names: any, password in $DIR/password)"
        log "use it: source $DIR/gateway.env && b2dark run SEARCH --run-options $DIR/run_options.yaml"
        exit 0
    fi
    if ! kill -0 "$(cat "$DIR/gateway.pid")" 2>/dev/null; then
        echo "start_gateway.sh: dask-gateway-server exited; its log $DIR/gateway.log ends with:" >&2
        tail -n 30 "$DIR/gateway.log" >&2
        exit 4
    fi
    sleep 0.5
done
echo "start_gateway.sh: $ADDRESS did not answer within $TIMEOUT s; see $DIR/gateway.log" >&2
exit 5
