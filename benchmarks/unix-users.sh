#!/usr/bin/env bash
# One Unix user per space (issue 18): what it costs on a frontend. Run from the repository root
# against a converged web container (lab or a molecule platform), e.g.
#   benchmarks/unix-users.sh pf-web2 [1000] [10000]
# It prints:
#   1. idle memory of N ondemand pools (default 1,000) in a SEPARATE php-fpm master (its own
#      config, pid and sockets under /tmp; the host's service is not touched): all pools as
#      www-data, then each as its own user; PSS/RSS of the master (ondemand: no child at idle)
#      and the ratio;
#   2. the time of the nuagerie_unix_users module converging M users (default 10,000) into the
#      container's account files from scratch, then unchanged, then pruning them again.
# The users it creates are named ncbench-<i> with UIDs at the top of the spaces' range, and are
# removed at the end (step 2's prune) — never a real space's.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
host=${1:?usage: benchmarks/unix-users.sh <web container> [pools] [users]}
pools=${2:-1000}
users=${3:-10000}
export PATH=$root/.venv/bin:$PATH
uid_min=1073741824 uid_count=805306368
bench_base=$((uid_min + uid_count - 200000))   # top of the range: no space hashes there in practice

# ---- 1. memory of idle pools -----------------------------------------------------------
docker exec -i "$host" bash -s "$pools" "$bench_base" <<'EOF'
set -euo pipefail
pools=$1 base=$2
dir=/tmp/nuagerie-bench-fpm
measure() { # <label> <per-user: 0|1>
  rm -rf "$dir" && mkdir -p "$dir/pool.d" "$dir/run"
  printf '[global]\npid = %s/fpm.pid\nerror_log = %s/fpm.log\ndaemonize = yes\nrlimit_files = 16384\ninclude = %s/pool.d/*.conf\n' \
    "$dir" "$dir" "$dir" >"$dir/fpm.conf"
  for i in $(seq 1 "$pools"); do
    if [[ $2 == 1 ]]; then user=ncbench-$i; else user=www-data; fi
    printf '[b%s]\nuser = %s\ngroup = %s\nlisten = %s/run/b%s.sock\nlisten.owner = www-data\nlisten.group = www-data\nlisten.mode = 0660\npm = ondemand\npm.max_children = 8\npm.process_idle_timeout = 30s\n' \
      "$i" "$user" "$user" "$dir" "$i" >"$dir/pool.d/b$i.conf"
  done
  php-fpm8.2 -y "$dir/fpm.conf" || { echo "php-fpm did not start ($1): $(tail -3 "$dir/fpm.log")" >&2; return 1; }
  sleep 3
  pid=$(cat "$dir/fpm.pid")
  [[ -r /proc/$pid/smaps_rollup ]] || { echo "php-fpm master $pid is gone ($1)" >&2; return 1; }
  pss=$(awk '/^Pss:/ {print $2}' /proc/"$pid"/smaps_rollup)
  rss=$(awk '/^Rss:/ {print $2}' /proc/"$pid"/smaps_rollup)
  children=$(pgrep -c -P "$pid" || true)
  kill "$pid"; sleep 1
  echo "$1 $pss $rss $children"
}
# Users for the per-user pools, each with its own group as a space has (plain groupadd and
# useradd: this part measures php-fpm, not our module).
for i in $(seq 1 "$pools"); do
  getent group ncbench-$i >/dev/null || groupadd -K GID_MAX=2147483647 -g $((base + i)) ncbench-$i
  getent passwd ncbench-$i >/dev/null || useradd -K UID_MAX=2147483647 -M -N -l -u $((base + i)) -g $((base + i)) -s /usr/sbin/nologin -d /nonexistent ncbench-$i
done
a=$(measure www-data 0) || exit 1
b=$(measure per-user 1) || exit 1
for i in $(seq 1 "$pools"); do userdel ncbench-$i 2>/dev/null || true; groupdel ncbench-$i 2>/dev/null || true; done
rm -rf "$dir"
read -r _ pss_a rss_a kids_a <<<"$a"
read -r _ pss_b rss_b kids_b <<<"$b"
echo "idle pools: $pools ondemand pools in one php-fpm master (children at idle: $kids_a / $kids_b)"
echo "  as www-data      : master PSS ${pss_a} kB, RSS ${rss_a} kB"
echo "  one user per pool: master PSS ${pss_b} kB, RSS ${rss_b} kB"
awk -v a="$pss_a" -v b="$pss_b" 'BEGIN {printf "  ratio per-user / www-data (PSS): %.3f\n", b / a}'
EOF

# ---- 2. converging many users with the module ------------------------------------------
inventory=$(mktemp -d)
trap 'rm -rf "$inventory"' EXIT
printf '%s ansible_connection=community.docker.docker ansible_user=root\n' "$host" >"$inventory/hosts"
python3 - "$users" "$bench_base" >"$inventory/users.json" <<'EOF'
import json, sys
count, base = int(sys.argv[1]), int(sys.argv[2])
print(json.dumps({"bench_users": [{"name": f"ncbench-{i}", "uid": base + i,
                                   "home": f"/srv/nextcloud/spaces/ncbench-{i}"} for i in range(count)]}))
EOF
printf '{"bench_users": []}' >"$inventory/none.json"
run() { # <label> <users var file> <prune>
  local start end
  start=$(date +%s%N)
  ANSIBLE_LIBRARY=$root/plugins/modules ansible "$host" -i "$inventory/hosts" -m nuagerie_unix_users \
    -e "@$2" -o \
    -a "{\"users\": \"{{ bench_users }}\", \"shared_group\": \"\", \"uid_min\": $uid_min,
         \"uid_count\": $uid_count, \"prune\": $3}" >"$inventory/out" 2>&1 || { cat "$inventory/out"; exit 1; }
  end=$(date +%s%N)
  printf '  %-28s %6.1f s  (%s)\n' "$1" "$(awk -v s="$start" -v e="$end" 'BEGIN {print (e - s) / 1e9}')" \
    "$(grep -o '"changed": [a-z]*' "$inventory/out" | head -1)"
}
echo "users: nuagerie_unix_users on $host, $users users (one task; ansible ad-hoc, wall time incl. ~2 s of ansible start)"
run "from scratch" "$inventory/users.json" false
run "unchanged" "$inventory/users.json" false
run "pruned (all removed)" "$inventory/none.json" true
