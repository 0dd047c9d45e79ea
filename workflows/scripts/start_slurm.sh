#!/usr/bin/env bash
# Start a single-node SLURM (controller + node daemon) on this machine, for tests and
# for trying `b2dark run --executor dask@slurm` on a laptop or CI runner.
#
# Debian/Ubuntu only (apt packages slurm-wlm + munge). Needs root (or sudo). No systemd:
# the daemons are started directly. Idempotent: running it twice leaves one running SLURM.
# Stop it with workflows/scripts/stop_slurm.sh.
#
# Environment: B2DARK_SLURM_PARTITION (default "debug"), B2DARK_SLURM_SKIP_INSTALL=1 to never call apt.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
        echo "start_slurm.sh: needs root or sudo to install and start slurmctld/slurmd" >&2; exit 2
    fi
fi

PARTITION="${B2DARK_SLURM_PARTITION:-debug}"
CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"
STATE_DIR=/var/lib/slurm
LOG_DIR=/var/log/slurm
RUN_DIR=/run/slurm

log() { echo "[start_slurm] $*"; }

# 1. packages -----------------------------------------------------------------------
need_install=0
for exe in slurmctld slurmd sbatch squeue munged; do
    command -v "$exe" >/dev/null 2>&1 || [ -x "/usr/sbin/$exe" ] || need_install=1
done
if [ "$need_install" -eq 1 ]; then
    if [ "${B2DARK_SLURM_SKIP_INSTALL:-0}" = "1" ]; then
        echo "start_slurm.sh: SLURM is not installed and B2DARK_SLURM_SKIP_INSTALL=1" >&2; exit 3
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "start_slurm.sh: no apt-get here; install slurm-wlm and munge with your package manager" >&2; exit 3
    fi
    log "installing slurm-wlm and munge with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    if ! apt-cache show slurm-wlm munge >/dev/null 2>&1; then
        echo "start_slurm.sh: apt has no slurm-wlm/munge packages (check /etc/apt/sources.list)" >&2; exit 3
    fi
    $SUDO apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

# 2. munge (authentication between the SLURM daemons and clients) -------------------
if ! id munge >/dev/null 2>&1; then
    echo "start_slurm.sh: the munge package did not create the 'munge' user" >&2; exit 4
fi
$SUDO mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
if [ ! -s /etc/munge/munge.key ]; then
    log "creating /etc/munge/munge.key"
    $SUDO dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
$SUDO chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
$SUDO chmod 0700 /etc/munge
$SUDO chmod 0400 /etc/munge/munge.key
$SUDO chmod 0755 /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    log "starting munged"
    $SUDO rm -f /run/munge/munged.pid
    $SUDO runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 1 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
fi
munge -n | unmunge >/dev/null || { echo "start_slurm.sh: munged is not answering" >&2; exit 4; }

# 3. slurm.conf for this machine ----------------------------------------------------------
HOST="$(hostname -s)"
# Online CPUs as the hardware has them (`nproc` would follow OMP_NUM_THREADS and CPU affinity).
# At least 2 so that two single-core worker jobs run side by side even on a 1-CPU runner
# (SlurmdParameters=config_overrides lets slurmd accept the configured count).
CPUS="$(getconf _NPROCESSORS_ONLN)"
[ "$CPUS" -ge 2 ] || CPUS=2
# Leave 10 % of the memory (MB) to the OS; SLURM refuses jobs asking for more than RealMemory.
MEM_MB="$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.9}' /proc/meminfo)"
$SUDO mkdir -p "$CONF_DIR" "$STATE_DIR/slurmctld" "$STATE_DIR/slurmd" "$LOG_DIR" "$RUN_DIR"
TMP_CONF="$(mktemp)"
cat > "$TMP_CONF" <<CONF
# Written by b2dark workflows/scripts/start_slurm.sh: single node, no cgroups, no accounting database.
ClusterName=b2dark
SlurmctldHost=${HOST}(127.0.0.1)
AuthType=auth/munge
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=${STATE_DIR}/slurmctld
SlurmdSpoolDir=${STATE_DIR}/slurmd
SlurmctldPidFile=${RUN_DIR}/slurmctld.pid
SlurmdPidFile=${RUN_DIR}/slurmd.pid
SlurmctldLogFile=${LOG_DIR}/slurmctld.log
SlurmdLogFile=${LOG_DIR}/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
# Containers and CI runners often have no writable cgroup tree: track processes by /proc.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
# Finished jobs are still listed here (sacct needs slurmdbd, which a single node does not need).
JobCompType=jobcomp/filetxt
JobCompLoc=${LOG_DIR}/jobcomp.log
MpiDefault=none
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=60
NodeName=${HOST} NodeAddr=127.0.0.1 CPUs=${CPUS} RealMemory=${MEM_MB} State=UNKNOWN
PartitionName=${PARTITION} Nodes=${HOST} Default=YES MaxTime=INFINITE State=UP
CONF

config_changed=0
if ! $SUDO cmp -s "$TMP_CONF" "$CONF" 2>/dev/null; then
    log "writing $CONF (node $HOST, $CPUS CPUs, ${MEM_MB} MB, partition $PARTITION)"
    $SUDO cp "$TMP_CONF" "$CONF"
    $SUDO chmod 0644 "$CONF"
    config_changed=1
fi
rm -f "$TMP_CONF"

# 4. daemons -------------------------------------------------------------------------------
running() {  # running NAME PIDFILE
    [ -s "$2" ] && $SUDO kill -0 "$(cat "$2")" 2>/dev/null
}
if [ "$config_changed" -eq 1 ]; then
    for d in slurmd slurmctld; do
        if running "$d" "$RUN_DIR/$d.pid"; then
            log "config changed: restarting $d"
            $SUDO kill "$(cat "$RUN_DIR/$d.pid")" || true
            for _ in $(seq 1 50); do running "$d" "$RUN_DIR/$d.pid" || break; sleep 0.1; done
        fi
    done
fi
if ! running slurmctld "$RUN_DIR/slurmctld.pid"; then
    log "starting slurmctld"
    $SUDO /usr/sbin/slurmctld -f "$CONF"
fi
if ! running slurmd "$RUN_DIR/slurmd.pid"; then
    log "starting slurmd"
    $SUDO /usr/sbin/slurmd -f "$CONF"
fi

# 5. wait until the node takes jobs ----------------------------------------------------
state=""
for _ in $(seq 1 120); do
    state="$(sinfo -h -n "$HOST" -o '%t' 2>/dev/null | head -n1 || true)"
    case "$state" in
        idle|mix|alloc|comp) break ;;
        down*|drain*|unk*|"") $SUDO scontrol update NodeName="$HOST" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 0.5
done
case "$state" in
    idle|mix|alloc|comp) ;;
    *) echo "start_slurm.sh: node $HOST is in state '$state'; see $LOG_DIR/slurmctld.log and slurmd.log" >&2
       exit 5 ;;
esac
log "SLURM is up: partition $PARTITION, node $HOST ($state)"
sinfo
