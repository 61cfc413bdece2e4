#!/usr/bin/env bash
# shim_test SHIM: the runtime shim (stepseal-runtime) of stepseal build (docs/build.md), against a fake runtime
# that logs its calls, without root. What it must never do: leave a created container standing
# when stepseal does not follow it, or start a container any other way than create + start.
set -uo pipefail
bin=$(readlink -f "$1")
tmp=$(mktemp -d); trap 'kill $(cat "$tmp/sleeper.pid" 2>/dev/null) 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
check() {  # check DESCRIPTION CONDITION...
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}
ln -s "$bin" "$tmp/stepseal-runtime"
# the fake runtime: logs each call; "create" starts a process and writes its pid, as runc does
cat > "$tmp/fake-runc" <<'FAKE'
#!/bin/sh
echo "$*" >> "$FAKE_LOG"
case " $* " in
  *" create "*)
    pidfile=$(echo "$*" | sed 's/.*--pid-file \([^ ]*\).*/\1/')
    sleep 600 & echo $! > "$pidfile"; echo $! > "$FAKE_DIR/sleeper.pid" ;;
esac
exit 0
FAKE
chmod +x "$tmp/fake-runc"
export FAKE_LOG="$tmp/calls" FAKE_DIR="$tmp"
shim() { STEPSEAL_REAL_RUNTIME="$tmp/fake-runc" "$tmp/stepseal-runtime" "$@"; }

# 1. stepseal is not there: the shim cannot prepare the RUN, and creates nothing
mkdir -p "$tmp/bundle"
: > "$FAKE_LOG"
STEPSEAL_SHIM_SOCKET="$tmp/nobody.sock" shim create --bundle "$tmp/bundle" \
  --pid-file "$tmp/bundle/pid" ctr1 2> "$tmp/err"
rc=$?
check "create without stepseal fails" test "$rc" -ne 0
check "create without stepseal says why" grep -q "does not run" "$tmp/err"
check "create without stepseal never reaches the runtime" test ! -s "$FAKE_LOG"

# 1b. stepseal prepares the RUN but does not follow the container: the shim deletes it, fails
python3 - "$tmp/half.sock" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(sys.argv[1]); s.listen(4)
for _ in range(2):
    c, _ = s.accept()
    m = c.recv(65536)
    c.send(b"ok" if b'"prepare"' in m else b"error: not followed")
    c.close()
PY
server=$!
for _ in $(seq 100); do [ -S "$tmp/half.sock" ] && break; sleep 0.05; done
: > "$FAKE_LOG"
STEPSEAL_SHIM_SOCKET="$tmp/half.sock" shim create --bundle "$tmp/bundle" \
  --pid-file "$tmp/bundle/pid" ctr1 2> "$tmp/err"
rc=$?
wait "$server"
check "an unfollowed create fails" test "$rc" -ne 0
check "an unfollowed create says why" grep -q "cannot be traced" "$tmp/err"
check "an unfollowed create deletes the container" grep -q "^delete --force ctr1$" "$FAKE_LOG"

# 2. ways to start a container that stepseal would not follow are refused, unrun
for cmd in run exec restore; do
  : > "$FAKE_LOG"
  STEPSEAL_SHIM_SOCKET="$tmp/nobody.sock" shim "$cmd" ctr2 2> "$tmp/err"
  rc=$?
  check "'$cmd' is refused" test "$rc" -ne 0
  check "'$cmd' never reaches the runtime" test ! -s "$FAKE_LOG"
done
# a create hidden behind a global option the shim does not know
: > "$FAKE_LOG"
STEPSEAL_SHIM_SOCKET="$tmp/nobody.sock" shim --log-level debug create --bundle "$tmp/bundle" \
  --pid-file "$tmp/bundle/pid" ctr3 2> "$tmp/err"
rc=$?
check "an unrecognised create is refused" test "$rc" -ne 0
check "an unrecognised create never reaches the runtime" test ! -s "$FAKE_LOG"

# 3. pass-through calls reach the runtime with their arguments and status
: > "$FAKE_LOG"
STEPSEAL_SHIM_SOCKET="$tmp/nobody.sock" shim --root /run/x state ctr4
check "state passes through" test $? -eq 0
check "state passes through verbatim" grep -q "^--root /run/x state ctr4$" "$FAKE_LOG"

# 4. outside stepseal build the shim refuses to run at all
: > "$FAKE_LOG"
STEPSEAL_REAL_RUNTIME="$tmp/fake-runc" "$tmp/stepseal-runtime" start ctr5 2> "$tmp/err"
check "without STEPSEAL_SHIM_SOCKET nothing runs" test $? -ne 0 -a ! -s "$FAKE_LOG"

((fails == 0)) && echo "all shim checks passed" || echo "$fails shim check(s) failed"
exit $((fails != 0))
