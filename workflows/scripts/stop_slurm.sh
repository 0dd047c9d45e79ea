#!/usr/bin/env bash
# Stop the single-node SLURM started by start_slurm.sh: cancel jobs, stop slurmd, slurmctld, munged.
set -uo pipefail
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
RUN_DIR=/run/slurm
command -v scancel >/dev/null 2>&1 && $SUDO scancel --full --quiet --user="$(id -un)" 2>/dev/null
stop_pidfile() {  # stop_pidfile NAME PIDFILE
    [ -s "$2" ] || return 0
    local pid
    pid="$(cat "$2")"  # read once: the daemon removes its pid file as it exits
    if $SUDO kill -0 "$pid" 2>/dev/null; then
        echo "[stop_slurm] stopping $1"
        $SUDO kill "$pid"
        for _ in $(seq 1 50); do [ -d "/proc/$pid" ] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null || break; sleep 0.1; done
    fi
}
stop_pidfile slurmd "$RUN_DIR/slurmd.pid"
stop_pidfile slurmctld "$RUN_DIR/slurmctld.pid"
if [ "${1:-}" = "--all" ]; then
    stop_pidfile munged /run/munge/munged.pid
fi
exit 0
