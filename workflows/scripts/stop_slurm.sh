#!/usr/bin/env bash
# Stop the single-node SLURM started by start_slurm.sh: cancel jobs, stop slurmd and slurmctld.
#
#   stop_slurm.sh                 slurmd + slurmctld (munged keeps running: other tools may use it)
#   stop_slurm.sh --all           slurmd + slurmctld + munged
#   stop_slurm.sh DAEMON...       only the named ones (slurmd, slurmctld, munged); tests/test_slurm.py
#                                 stops exactly what it started
# Waits until each stopped daemon has exited; exits 1 naming any that did not stop.
set -uo pipefail
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
RUN_DIR=/run/slurm

daemons=()
case "${1:-}" in
    "") daemons=(slurmd slurmctld) ;;
    --all) daemons=(slurmd slurmctld munged) ;;
    *) daemons=("$@") ;;
esac

pidfile_of() {
    case "$1" in
        slurmd|slurmctld) echo "$RUN_DIR/$1.pid" ;;
        munged) echo /run/munge/munged.pid ;;
        *) echo "stop_slurm.sh: unknown daemon '$1' (slurmd, slurmctld or munged)" >&2; return 1 ;;
    esac
}
alive() {  # a process that exists and is not a zombie (containers without an init never reap them)
    [ -d "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# jobs first, while slurmctld still answers
for d in "${daemons[@]}"; do
    if [ "$d" = slurmctld ] && command -v scancel >/dev/null 2>&1; then
        $SUDO scancel --full --quiet --user="$(id -un)" 2>/dev/null
    fi
done

failed=()
for d in "${daemons[@]}"; do
    pidfile="$(pidfile_of "$d")" || exit 2
    [ -s "$pidfile" ] || continue
    pid="$(cat "$pidfile")"  # read once: the daemon removes its pid file as it exits
    alive "$pid" || continue
    echo "[stop_slurm] stopping $d (pid $pid)"
    $SUDO kill "$pid"
    for _ in $(seq 1 150); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
        echo "[stop_slurm] $d (pid $pid) ignored SIGTERM for 15 s: SIGKILL"
        $SUDO kill -9 "$pid" 2>/dev/null
        for _ in $(seq 1 50); do alive "$pid" || break; sleep 0.1; done
    fi
    alive "$pid" && failed+=("$d (pid $pid)")
done
if [ "${#failed[@]}" -gt 0 ]; then
    echo "stop_slurm.sh: still running: ${failed[*]}" >&2
    exit 1
fi
exit 0
