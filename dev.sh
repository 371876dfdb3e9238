#!/usr/bin/env bash
# corvid developer entry point. Every command installs what is missing first.
#
#   ./dev.sh run     install deps, build, start corvid (see README: what it starts today)
#   ./dev.sh ensemble [N]  install deps, build, start an N-member ensemble on loopback
#                    (default 3; clients on 127.0.0.1:2181..; Ctrl-C stops every member)
#   ./dev.sh test    install deps, build, run every test suite (what .ci/run calls)
#   ./dev.sh deps    install missing Debian packages only (quiet when all are present)
#   ./dev.sh build   install deps and build build/ (RelWithDebInfo)
#
# Environment: FUZZ_SECONDS (per fuzz target, default 45), JOBS (default nproc).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
JOBS=${JOBS:-$(nproc)}

# Debian 12 package names. Build: compiler, cmake, DPDK (and its
# dpdk-telemetry.py), ISA-L, libnuma, liburing, GoogleTest, libmicrohttpd and
# jansson (the admin and metrics HTTP servers, corvidctl). Fuzz: clang + its
# runtime (libFuzzer). Tests: the real ZooKeeper server and clients (kazoo, the
# C client, zkCli, the Java client), Prometheus itself (a real scrape, and
# promtool's lint) and its Python parser.
PACKAGES=(
  build-essential cmake pkg-config git
  dpdk-dev libisal-dev libnuma-dev liburing-dev libgtest-dev libssl-dev
  libmicrohttpd-dev libjansson-dev
  clang libclang-rt-14-dev clang-format
  zookeeper python3 python3-kazoo python3-pure-sasl python3-pytest libzookeeper-mt-dev default-jdk-headless
  prometheus python3-prometheus-client netcat-openbsd curl
)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

deps() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "dev.sh: installing missing packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

configure_build() {   # dir, extra cmake args...  (quiet unless something fails)
  local dir=$1; shift
  mkdir -p "$dir"
  if ! { cmake -S "$ROOT" -B "$dir" "$@" && cmake --build "$dir" -j "$JOBS"; } >"$dir/build.log" 2>&1; then
    grep -E -B2 -A8 'error|Error' "$dir/build.log" | head -80
    echo "dev.sh: build in $dir failed (full log: $dir/build.log)"; exit 1
  fi
}

PASSED=0 FAILED=0
run_ctest() {   # dir, label
  local out rc=0
  out=$(ctest --test-dir "$1" --output-on-failure -j "$JOBS" 2>&1) || rc=$?
  echo "$out" | tail -n 40
  local line
  line=$(echo "$out" | grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' | tail -1)
  if [ -z "$line" ]; then echo "dev.sh: $2: ctest printed no summary"; FAILED=$((FAILED + 1)); return; fi
  local f t
  f=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/')
  t=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/')
  PASSED=$((PASSED + t - f)); FAILED=$((FAILED + f))
  [ "$rc" = 0 ] || echo "dev.sh: $2: ctest failed (rc=$rc)"
}

cmd_test() {
  deps
  echo "== format check (clang-format)"
  local bad
  bad=$(git ls-files '*.c' '*.h' '*.cc' | xargs -r clang-format --dry-run 2>&1 | grep -c 'warning:' || true)
  if [ "$bad" != 0 ]; then
    git ls-files '*.c' '*.h' '*.cc' | xargs -r clang-format --dry-run 2>&1 | grep 'warning:' | head -20
    echo "dev.sh: $bad formatting differences (run: clang-format -i on the files above)"; FAILED=$((FAILED + 1))
  else PASSED=$((PASSED + 1)); fi

  echo "== build (gcc, RelWithDebInfo) + unit tests"
  configure_build build
  run_ctest build "unit"

  echo "== build (gcc, ASan+UBSan) + unit tests"
  configure_build build-asan -DCORVID_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
  run_ctest build-asan "sanitizer"

  echo "== fuzz (clang libFuzzer, ${FUZZ_SECONDS:-45}s per target)"
  configure_build build-fuzz -DCORVID_FUZZ=ON -DCORVID_TESTS=OFF \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug
  local t
  for t in build-fuzz/tests/fuzz/fuzz_*; do
    [ -x "$t" ] && [ -f "$t" ] || continue
    case "$t" in *_seed|*.log) continue ;; esac
    if "$ROOT/tests/fuzz/run_fuzz.sh" "$t" "${FUZZ_SECONDS:-45}"; then PASSED=$((PASSED + 1));
    else echo "dev.sh: fuzz target $t failed"; FAILED=$((FAILED + 1)); fi
  done

  echo
  echo "corvid: $PASSED passed, $FAILED failed"
  [ "$FAILED" = 0 ]
}

# N corvid processes on loopback, each with its own zoo.cfg and dataDir/myid
# under ${CORVID_ENSEMBLE_DIR:-/tmp/corvid-ensemble}, as ZooKeeper's docs lay
# out a replicated ensemble on one host (docs/replication.md).
cmd_ensemble() {
  local n=${1:-3} dir=${CORVID_ENSEMBLE_DIR:-/tmp/corvid-ensemble} i j pids=()
  case "$n" in ''|*[!0-9]*) echo "dev.sh ensemble: N must be a number" >&2; exit 2 ;; esac
  [ "$n" -ge 1 ] && [ "$n" -le 9 ] || { echo "dev.sh ensemble: N must be 1..9" >&2; exit 2; }
  mkdir -p "$dir"
  [ -s "$dir/secret" ] || od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$dir/secret"
  for i in $(seq 1 "$n"); do
    mkdir -p "$dir/$i/data"
    echo "$i" >"$dir/$i/data/myid"
    {
      echo "tickTime=2000"
      echo "initLimit=10"
      echo "syncLimit=5"
      echo "dataDir=$dir/$i/data"
      echo "4lw.commands.whitelist=*"
      echo "corvid.secret=$(cat "$dir/secret")"
      echo "admin.serverPort=$((8079 + i))"           # /commands on 8080, 8081, ...
      echo "metricsProvider.httpPort=$((6999 + i))"   # /metrics on 7000, 7001, ...
      echo "corvid.lcores=$(( (i - 1) % $(nproc) ))"   # spread the members over the CPUs
      # more members than CPUs: sleep when idle instead of spinning
      [ "$n" -gt "$(nproc)" ] && echo "corvid.pollSpinUs=0"
      for j in $(seq 1 "$n"); do
        echo "server.$j=127.0.0.1:$((2887 + j)):$((3887 + j));127.0.0.1:$((2180 + j))"
      done
    } >"$dir/$i/zoo.cfg"
  done
  trap 'kill "${pids[@]}" 2>/dev/null; wait; exit 0' INT TERM
  trap 'kill "${pids[@]}" 2>/dev/null' EXIT
  for i in $(seq 1 "$n"); do
    build/control/corvid --config "$dir/$i/zoo.cfg" >"$dir/$i/corvid.log" 2>&1 &
    pids+=($!)
  done
  local hosts
  hosts=$(seq -s, -f "127.0.0.1:%g" 2181 $((2180 + n)))
  echo "corvid ensemble of $n: clients connect to $hosts"
  echo "logs: $dir/<id>/corvid.log; 'echo srvr | nc 127.0.0.1 2181' shows a member's mode; Ctrl-C stops all"
  echo "admin: http://127.0.0.1:8080/commands .. :$((8079 + n)); metrics: http://127.0.0.1:7000/metrics .. :$((6999 + n))"
  echo "status: build/control/corvidctl --host $(seq -s, -f "127.0.0.1:%g" 8080 $((8079 + n))) status"
  wait -n "${pids[@]}" || true
  echo "dev.sh ensemble: a member exited; stopping the others (see its log)" >&2
}

case "${1:-}" in
  deps) deps ;;
  ensemble) deps; configure_build build; shift; cmd_ensemble "$@" ;;
  build) deps; configure_build build ;;
  run) deps; configure_build build; shift; exec build/control/corvid "$@" ;;
  test) cmd_test ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac
