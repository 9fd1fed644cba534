#!/usr/bin/env bash
# Routine at any size (issue 15): the figures of the operator's daily job, in the lab.
# Run after `make lab`, from the repository root:
#   benchmarks/spaces-routine.sh            # figures printed, and kept in figures.txt
# It works on a copy of inventories/lab/spaces (the repository's catalogue is never touched):
#   1. spaces.yml with nothing to change (the lab's 3 spaces);
#   2. one space created with spaces.yml -e spaces=<slug>;
#   3. the naive path for comparison: site.yml with nothing to change (every tier in full, as
#      spaces.yml ran before issue 15), and the ratio of the two unchanged runs;
#   4. the created space deleted again (state absent, confirm_delete_data), not a target.
# NUAGERIE_BENCH_NAIVE=0 leaves out step 3 (it takes minutes).
# Each figure: wall time of the whole ansible-playbook process and its task executions, as
# printed by the nuagerie_tasks callback (plugins/callback/nuagerie_tasks.py).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH=$root/.venv/bin:$PATH ANSIBLE_CALLBACK_RESULT_FORMAT=json PY_COLORS=0 ANSIBLE_FORCE_COLOR=0
out=${NUAGERIE_BENCH_OUT:-${XDG_CACHE_HOME:-$HOME/.cache}/nuagerie/bench-routine}
inventory=${NUAGERIE_BENCH_INVENTORY:-inventories/lab/hosts.yml}
slug=${NUAGERIE_BENCH_SLUG:-bench-routine}
mkdir -p "$out"
rm -f "$out"/*.ms   # figures of this run only
catalogue=$(mktemp -d)
trap 'rm -rf "$catalogue"' EXIT
cp inventories/lab/spaces/*.yml "$catalogue"/

# run LABEL PLAYBOOK [ARGS…]: time one ansible-playbook run, print and keep its figures.
run() {
  local label=$1 book=$2; shift 2
  local log="$out/${label// /-}.log" start end ms tasks
  start=$(date +%s%N)
  if ! ansible-playbook -i "$inventory" "playbooks/$book" -e "catalogue_dir=$catalogue" "$@" >"$log" 2>&1; then
    echo "bench: $label FAILED, see $log" >&2
    tail -20 "$log" >&2
    exit 1
  fi
  end=$(date +%s%N)
  ms=$(((end - start) / 1000000))
  tasks=$(grep -o 'nuagerie: [0-9]* task executions on [0-9]* hosts' "$log" | tail -1)
  printf '%-34s %7d.%03d s   %s\n' "$label:" $((ms / 1000)) $((ms % 1000)) "${tasks#nuagerie: }" | tee -a "$out/figures.txt"
  echo "$ms" >"$out/${label// /-}.ms"
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $inventory" | tee -a "$out/figures.txt"
run "spaces.yml unchanged" spaces.yml
cat >"$catalogue/$slug.yml" <<EOF
slug: $slug
display_name: "Benchmark space"
admin_email: admin@$slug.example.org
created: 2026-12-01
EOF
run "create one (-e spaces=$slug)" spaces.yml -e "spaces=$slug"
run "spaces.yml unchanged again" spaces.yml
if [[ ${NUAGERIE_BENCH_NAIVE:-1} != 0 ]]; then   # NUAGERIE_BENCH_NAIVE=0 skips the slow comparison
  run "naive: site.yml unchanged" site.yml
fi
sed -i 's/^created: .*/&\nstate: absent/' "$catalogue/$slug.yml"
run "delete one (-e spaces=$slug)" spaces.yml -e "spaces=$slug" -e "confirm_delete_data=$slug"
if [[ -f $out/naive:-site.yml-unchanged.ms ]]; then
  ratio=$(awk -v a="$(cat "$out/naive:-site.yml-unchanged.ms")" -v b="$(cat "$out/spaces.yml-unchanged-again.ms")" \
    'BEGIN { printf "%.1f", a / b }')
  echo "naive / spaces.yml (unchanged): ${ratio}x" | tee -a "$out/figures.txt"
fi
echo "logs and figures: $out"
