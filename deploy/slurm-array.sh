#!/usr/bin/env bash
# One survey split over a Slurm job array: task K of the array crawls shard K
# of N. authcensus reads SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT and
# SLURM_ARRAY_TASK_MIN itself, so the array may start at any offset
# (--array=1-8 gives shards 0..7) or use a step (--array=0-14:2); a list such
# as --array=1,5,9 is refused because its ids do not map onto 0..N-1.
#
#   sbatch deploy/slurm-array.sh                  # 8 shards, 8,000 q/s in total
#   sbatch --array=0-15 deploy/slurm-array.sh     # 16 shards: QPS below adapts
#
# Each task writes OUT/snapshot=ID/shard=K/ (a shared file system path or an
# object store URL). A failed task is re-run with `sbatch --array=K ...` (same
# SNAPSHOT): it resumes from its closed or uploaded parts.
#
#SBATCH --job-name=authcensus
#SBATCH --array=0-7
#SBATCH --cpus-per-task=2
#SBATCH --mem=2G
#SBATCH --time=12:00:00
#SBATCH --output=authcensus-%A_%a.log

set -euo pipefail

# Global DNS budget for the whole survey, split evenly across the array.
GLOBAL_QPS="${GLOBAL_QPS:-8000}"
SHARDS="${SLURM_ARRAY_TASK_COUNT:-1}"
QPS=$(( GLOBAL_QPS / SHARDS ))
if (( QPS < 1 )); then
  echo "GLOBAL_QPS=${GLOBAL_QPS} is below one query per second per shard (${SHARDS} shards)" >&2
  exit 2
fi

SNAPSHOT="${SNAPSHOT:-$(date -u +%F)}"
OUT="${OUT:-s3://survey-bucket/surveys}"   # or a shared directory, e.g. /project/authcensus/snapshots
RESOLVER="${RESOLVER:-127.0.0.1:53}"        # a recursive resolver on the node (see deploy/README.md)
INPUT="${INPUT:-domain-lists/us-gov}"
AUTHCENSUS="${AUTHCENSUS:-authcensus}"

# Parts are staged on node-local scratch before upload.
STAGING="${TMPDIR:-/tmp}/authcensus-${SLURM_ARRAY_JOB_ID:-manual}-${SLURM_ARRAY_TASK_ID:-0}"
STAGING_ARGS=()
case "$OUT" in
  *://*) STAGING_ARGS=(--staging-dir "$STAGING") ;;
esac

exec "$AUTHCENSUS" crawl \
  --snapshot "$SNAPSHOT" \
  --out "$OUT" \
  "${STAGING_ARGS[@]}" \
  --resolver "$RESOLVER" \
  --qps "$QPS" \
  --concurrency 256 \
  --no-progress \
  "$INPUT"
