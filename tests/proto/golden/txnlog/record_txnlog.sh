#!/bin/bash
# Re-record the golden ZooKeeper transaction log in tests/proto/golden/txnlog/.
#
# Usage:  tests/proto/golden/txnlog/record_txnlog.sh
# Env:    CORVID_TXNLOG_PORT  client port (default 21820).  Never 2181.
#
# 1. compiles TxnLogSession.java (javac, Debian's zookeeper jars) in a temp dir,
# 2. starts a fresh standalone Apache ZooKeeper 3.8 (Debian package) with an
#    empty temp dataDir on 127.0.0.1:PORT, small log preallocation and a 1 s
#    container/TTL sweep,
# 3. runs `TxnLogSession expire` (a session that creates ephemerals and dies
#    without closing) and then the main TxnLogSession (every write type),
# 4. stops the server and copies dataDir/version-2/log.* here, cut after the
#    last record (see README.md), plus the client's output as session.log.
# Every process has its own `timeout`; a trap stops them all on exit.
set -u
set -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
ZKPORT=${CORVID_TXNLOG_PORT:-21820}
J=/usr/share/java
WORK=$(mktemp -d /tmp/corvid-txnlog.XXXXXX)
ZKPID=""

SERVER_CP="$J/zookeeper.jar:$J/zookeeper-jute.jar:$J/slf4j-api.jar:$J/slf4j-simple.jar"
SERVER_CP="$SERVER_CP:$J/netty-buffer.jar:$J/netty-codec.jar:$J/netty-common.jar"
SERVER_CP="$SERVER_CP:$J/netty-handler.jar:$J/netty-resolver.jar:$J/netty-transport.jar"
SERVER_CP="$SERVER_CP:$J/netty-transport-native-epoll.jar:$J/netty-transport-native-unix-common.jar"
SERVER_CP="$SERVER_CP:$J/metrics-core.jar:$J/commons-cli.jar"
CLIENT_CP="$J/zookeeper.jar:$J/zookeeper-jute.jar:$J/slf4j-api.jar:$J/slf4j-simple.jar"

log() { echo "[record_txnlog] $*" >&2; }

stop_pid() {   # stop_pid PID: TERM, wait up to 5 s, then KILL it and its children
    local pid=$1 i kids
    [ -n "$pid" ] || return 0
    kids=$(ps -o pid= --ppid "$pid" 2>/dev/null)   # java under `timeout`
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
    stop_pid "$ZKPID"; ZKPID=""
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() {  # wait_port PORT SECONDS: plain TCP connect, no bytes sent
    $PY - "$1" "$2" <<'PYEOF'
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
PYEOF
}

ZK_DEB=$(dpkg-query -W -f='${Version}' zookeeper 2>/dev/null)
ZK_VERSION=$(java -cp "$CLIENT_CP" org.apache.zookeeper.Version 2>/dev/null | head -1)
[ -n "$ZK_VERSION" ] || ZK_VERSION=3.8.0

log "compiling TxnLogSession.java in $WORK"
mkdir -p "$WORK/java" "$WORK/data"
javac -d "$WORK/java" -cp "$CLIENT_CP" "$HERE/TxnLogSession.java" || exit 1

cat > "$WORK/zoo.cfg" <<CFGEOF
tickTime=1000
initLimit=5
syncLimit=2
dataDir=$WORK/data
clientPort=$ZKPORT
clientPortAddress=127.0.0.1
maxClientCnxns=60
extendedTypesEnabled=true
reconfigEnabled=true
admin.enableServer=false
CFGEOF

# zookeeper.preAllocSize is in KB (default 65536 = 64 MB of zeros per log).
# znode.container.checkIntervalMs: sweep empty containers / expired TTL nodes
# every second instead of every minute, so deleteContainer gets logged.
log "starting ZooKeeper $ZK_VERSION on 127.0.0.1:$ZKPORT"
timeout 120 java -Xmx256m \
    -Dzookeeper.preAllocSize=64 \
    -Dznode.container.checkIntervalMs=1000 \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=info \
    -cp "$SERVER_CP" org.apache.zookeeper.server.quorum.QuorumPeerMain \
    "$WORK/zoo.cfg" >"$WORK/server.log" 2>&1 &
ZKPID=$!
if ! wait_port "$ZKPORT" 30; then
    log "ZooKeeper did not start; server log:"; tail -30 "$WORK/server.log" >&2
    exit 1
fi
sleep 0.5

started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
{
    timeout 30 java -Dorg.slf4j.simpleLogger.defaultLogLevel=error -cp "$CLIENT_CP:$WORK/java" \
        TxnLogSession "127.0.0.1:$ZKPORT" expire
    echo "[record_txnlog] expiring session client exit status $?"
    timeout 60 java -Dorg.slf4j.simpleLogger.defaultLogLevel=error -cp "$CLIENT_CP:$WORK/java" \
        TxnLogSession "127.0.0.1:$ZKPORT"
    echo "[record_txnlog] main session client exit status $?"
} > "$WORK/session.log" 2>&1
cat "$WORK/session.log" >&2
sleep 0.5
stop_pid "$ZKPID"; ZKPID=""

logs=("$WORK"/data/version-2/log.*)
if [ ! -e "${logs[0]}" ]; then
    log "no log.* in dataDir"; exit 1
fi
rm -f "$HERE"/log.*
for f in "${logs[@]}"; do
    # Keep the file up to the end of its last record plus the 12 zero bytes
    # that follow it (a zero checksum and length: where ZooKeeper's reader
    # stops); drop the rest of the preallocated zeros.
    $PY - "$f" "$HERE/$(basename "$f")" <<'PYEOF' || exit 1
import struct, sys
src, dst = sys.argv[1], sys.argv[2]
b = open(src, 'rb').read()
magic, version, dbid = struct.unpack('>iiq', b[:16])
assert magic == 0x5a4b4c47 and version == 2, (hex(magic), version)
pos, n = 16, 0
while pos + 12 <= len(b):
    crc, ln = struct.unpack('>qi', b[pos:pos + 12])
    if crc == 0 and ln == 0:
        break
    assert ln > 0 and pos + 12 + ln + 1 <= len(b) and b[pos + 12 + ln] == 0x42, pos
    pos += 12 + ln + 1
    n += 1
end = min(pos + 12, len(b))
assert b[pos:end] == bytes(end - pos)
open(dst, 'wb').write(b[:end])
print('[record_txnlog] %s: %d records, %d of %d bytes kept' % (dst, n, end, len(b)), file=sys.stderr)
PYEOF
done
{
    echo "# corvid golden ZooKeeper transaction log: client output while it was recorded"
    echo "# server: Apache ZooKeeper $ZK_VERSION (Debian package zookeeper $ZK_DEB), standalone, 127.0.0.1:$ZKPORT"
    echo "# recorded: $started by tests/proto/golden/txnlog/record_txnlog.sh"
    sed "s#$WORK#\$WORK#g" "$WORK/session.log"
} > "$HERE/session.log"
log "done: $(ls "$HERE"/log.* | xargs -n1 basename | tr '\n' ' ')"
