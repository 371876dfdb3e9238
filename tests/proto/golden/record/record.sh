#!/bin/bash
# Re-record the golden ZooKeeper wire vectors in tests/proto/golden/.
#
# Usage:  tests/proto/golden/record/record.sh
# Env:    CORVID_REC_PORT  base port (default 21810); ZooKeeper listens on
#                          BASE, the recording proxy on BASE+1.  Never 2181.
#
# For each client (kazoo, C, Java, zkCli) this script:
#   1. starts a fresh standalone Apache ZooKeeper 3.8 (Debian package) on
#      127.0.0.1:BASE with an empty temp dataDir,
#   2. starts record/proxy.py on 127.0.0.1:BASE+1 writing frames to a temp file,
#   3. runs the client session through the proxy (bounded by `timeout`),
#   4. stops the proxy and the server, and writes <name>.frames (header
#      comments + frames) and <name>.log (the client's own log) here.
# Finally record/coverage.py --check verifies every frame and refreshes the
# coverage section of README.md.  Everything runs on loopback; every process
# started here is stopped before the script exits (trap), and each has its own
# time limit as well.
set -u
set -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
GOLDEN=$(dirname "$HERE")
PY=/usr/bin/python3                 # the interpreter that sees python3-kazoo
BASE=${CORVID_REC_PORT:-21810}
ZKPORT=$BASE
PXPORT=$((BASE + 1))
J=/usr/share/java
WORK=$(mktemp -d /tmp/corvid-golden.XXXXXX)
ZKPID=""
PXPID=""

SERVER_CP="$J/zookeeper.jar:$J/zookeeper-jute.jar:$J/slf4j-api.jar:$J/slf4j-simple.jar"
SERVER_CP="$SERVER_CP:$J/netty-buffer.jar:$J/netty-codec.jar:$J/netty-common.jar"
SERVER_CP="$SERVER_CP:$J/netty-handler.jar:$J/netty-resolver.jar:$J/netty-transport.jar"
SERVER_CP="$SERVER_CP:$J/netty-transport-native-epoll.jar:$J/netty-transport-native-unix-common.jar"
SERVER_CP="$SERVER_CP:$J/metrics-core.jar:$J/commons-cli.jar"
CLIENT_CP="$J/zookeeper.jar:$J/zookeeper-jute.jar:$J/slf4j-api.jar:$J/slf4j-simple.jar"

log() { echo "[record] $*" >&2; }

stop_pid() {   # stop_pid PID: TERM, wait up to 5 s, then KILL it and its children
    local pid=$1 i kids
    [ -n "$pid" ] || return 0
    kids=$(ps -o pid= --ppid "$pid" 2>/dev/null)   # e.g. java under `timeout`
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" $kids 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    return 0
}

cleanup() {
    stop_pid "$PXPID"; PXPID=""
    stop_pid "$ZKPID"; ZKPID=""
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() {  # wait_port PORT SECONDS: plain TCP connect, no bytes sent
    $PY - "$1" "$2" <<'EOF'
import socket, sys, time
port, secs = int(sys.argv[1]), float(sys.argv[2])
end = time.time() + secs
while time.time() < end:
    try:
        socket.create_connection(('127.0.0.1', port), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.2)
sys.exit(1)
EOF
}

# ---------------------------------------------------------------- config
cat > "$WORK/jaas_server.conf" <<'EOF'
Server {
  org.apache.zookeeper.server.auth.DigestLoginModule required
  user_bob="bobsecret";
};
EOF
cat > "$WORK/jaas_client.conf" <<'EOF'
Client {
  org.apache.zookeeper.server.auth.DigestLoginModule required
  username="bob"
  password="bobsecret";
};
EOF

start_zk() {
    rm -rf "$WORK/data" && mkdir -p "$WORK/data"
    cat > "$WORK/zoo.cfg" <<EOF
tickTime=1000
initLimit=5
syncLimit=2
dataDir=$WORK/data
clientPort=$ZKPORT
clientPortAddress=127.0.0.1
maxClientCnxns=60
4lw.commands.whitelist=*
extendedTypesEnabled=true
reconfigEnabled=true
admin.enableServer=false
authProvider.sasl=org.apache.zookeeper.server.auth.SASLAuthenticationProvider
EOF
    timeout 150 java -Xmx256m \
        -Djava.security.auth.login.config="$WORK/jaas_server.conf" \
        -Dorg.slf4j.simpleLogger.defaultLogLevel=info \
        -cp "$SERVER_CP" org.apache.zookeeper.server.quorum.QuorumPeerMain \
        "$WORK/zoo.cfg" >>"$WORK/server.log" 2>&1 &
    ZKPID=$!
    if ! wait_port "$ZKPORT" 30; then
        log "ZooKeeper did not start; see server log:"; tail -30 "$WORK/server.log" >&2
        exit 1
    fi
    sleep 0.5
}

start_proxy() {  # start_proxy RAWFILE
    rm -f "$WORK/proxy.pid"
    $PY "$HERE/proxy.py" --listen "$PXPORT" --upstream "127.0.0.1:$ZKPORT" \
        --out "$1" --pidfile "$WORK/proxy.pid" --max-seconds 120 &
    PXPID=$!
    local i
    for i in $(seq 1 50); do
        [ -s "$WORK/proxy.pid" ] && return 0
        sleep 0.1
    done
    log "proxy did not start"; exit 1
}

# record NAME "client description" CLIENT-COMMAND...
record() {
    local name=$1 desc=$2; shift 2
    local raw="$WORK/$name.raw" out="$GOLDEN/$name.frames"
    log "=== $name: $desc"
    : > "$raw"
    start_zk
    start_proxy "$raw"
    local started
    started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    PROXY_PID=$PXPID "$@" > "$WORK/$name.log" 2>&1
    local rc=$?
    log "$name client exit status $rc"
    sleep 0.5
    stop_pid "$PXPID"; PXPID=""
    stop_pid "$ZKPID"; ZKPID=""
    {
        echo "# corvid golden ZooKeeper wire frames: $name"
        echo "# client: $desc"
        echo "# server: Apache ZooKeeper $ZK_VERSION (Debian package zookeeper $ZK_DEB), standalone, tickTime=1000, extendedTypesEnabled=true, reconfigEnabled=true, SASL DIGEST-MD5 provider, 127.0.0.1"
        echo "# recorded: $started by tests/proto/golden/record/record.sh via record/proxy.py; client exit status $rc"
        echo "# client command: $(echo "${REC_CMD:-$*}" | sed "s#$WORK#\$WORK#g; s#$HERE#record#g")"
        echo "# format: '<conn-id> <C|S> <hex of whole frame incl. 4-byte length>' (see README.md)"
        cat "$raw"
    } > "$out"
    sed "s#$WORK#\$WORK#g" "$WORK/$name.log" > "$GOLDEN/$name.log"
    log "$name: $(grep -vc '^#' "$out") frames, $(stat -c %s "$out") bytes"
}

# zkCli.sh reads commands from stdin; feed them slowly and handle directives
feed_zkcli() {
    sleep 3   # let zkCli connect first (commands typed before that fail)
    local line
    while IFS= read -r line; do
        case "$line" in
            '#!sleep '*) sleep "${line#\#!sleep }" ;;
            '#!reconnect') kill -USR1 "$PXPID" ;;
            '#'*|'') ;;
            *) printf '%s\n' "${line//@SERVER@/127.0.0.1:$PXPORT}"; sleep 0.3 ;;
        esac
    done < "$HERE/zkcli_session.txt"
    sleep 2
}

run_zkcli() {
    feed_zkcli | timeout 90 /usr/share/zookeeper/bin/zkCli.sh -timeout 4000 -r -server "127.0.0.1:$PXPORT"
}

# ---------------------------------------------------------------- versions
ZK_DEB=$(dpkg-query -W -f='${Version}' zookeeper 2>/dev/null)
ZK_VERSION=$(java -cp "$CLIENT_CP" org.apache.zookeeper.Version 2>/dev/null | head -1)
[ -n "$ZK_VERSION" ] || ZK_VERSION=3.8.0
KAZOO_DEB=$(dpkg-query -W -f='${Version}' python3-kazoo 2>/dev/null)
SASL_DEB=$(dpkg-query -W -f='${Version}' python3-pure-sasl 2>/dev/null)
CLIB_DEB=$(dpkg-query -W -f='${Version}' libzookeeper-mt-dev 2>/dev/null)
JZK_DEB=$(dpkg-query -W -f='${Version}' libzookeeper-java 2>/dev/null)
JAVA_VER=$(java -version 2>&1 | head -1)
PY_VER=$($PY --version 2>&1)

# ---------------------------------------------------------------- build
log "building C and Java clients in $WORK"
gcc -DTHREADED -O0 -g -Wall -o "$WORK/c_session" "$HERE/c_session.c" -lzookeeper_mt -lpthread || exit 1
mkdir -p "$WORK/java"
javac -d "$WORK/java" -cp "$CLIENT_CP" "$HERE/JavaSession.java" || exit 1

# ---------------------------------------------------------------- record
# each client session is bounded; clients read PROXY_PID from the environment
record kazoo "kazoo 2.8.0 (Debian python3-kazoo $KAZOO_DEB, pure-sasl $SASL_DEB, $PY_VER)" \
    timeout 60 $PY "$HERE/kazoo_session.py" "127.0.0.1:$PXPORT"
record c_client "ZooKeeper C client libzookeeper_mt 3.8.0 (Debian libzookeeper-mt-dev $CLIB_DEB), sync+async API" \
    sh -c 'exec timeout 60 "$0" "$1" "$PROXY_PID"' "$WORK/c_session" "127.0.0.1:$PXPORT"
record java "ZooKeeper Java client $ZK_VERSION (Debian libzookeeper-java $JZK_DEB), $JAVA_VER" \
    sh -c 'exec timeout 60 java -Djava.security.auth.login.config="$0" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$1" JavaSession "$2" "$PROXY_PID"' \
    "$WORK/jaas_client.conf" "$CLIENT_CP:$WORK/java" "127.0.0.1:$PXPORT"
REC_CMD="record/zkcli_session.txt fed line by line (feed_zkcli in record.sh) | timeout 90 /usr/share/zookeeper/bin/zkCli.sh -timeout 4000 -r -server 127.0.0.1:$PXPORT" \
record zkcli "zkCli.sh (org.apache.zookeeper.ZooKeeperMain, Java client $ZK_VERSION, Debian zookeeper $ZK_DEB), commands from record/zkcli_session.txt" \
    run_zkcli

# ---------------------------------------------------------------- verify
log "verifying frames and updating README coverage section"
args=(--check)
[ -f "$GOLDEN/README.md" ] && args+=(--readme "$GOLDEN/README.md")
$PY "$HERE/coverage.py" "${args[@]}" \
    "$GOLDEN/kazoo.frames" "$GOLDEN/c_client.frames" "$GOLDEN/java.frames" "$GOLDEN/zkcli.frames" \
    > "$WORK/coverage.txt"
rc=$?
cat "$WORK/coverage.txt"
exit $rc
