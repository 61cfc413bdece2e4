#!/usr/bin/env bash
# cli_test STEPSEAL: the command line (CLI11), without root. Every subcommand takes the same
# option syntax (--opt VALUE and --opt=VALUE); usage errors exit 125 with a message that names
# what is wrong; --help exits 0.
set -uo pipefail
bin=$1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0
# expect RC MESSAGE ARGS...: stepseal ARGS exits RC and its stderr+stdout contains MESSAGE
expect() {
  local want_rc=$1 want_msg=$2; shift 2
  local out rc
  out=$("$bin" "$@" 2>&1); rc=$?
  if ((rc != want_rc)) || [[ $out != *"$want_msg"* ]]; then
    echo "FAIL: stepseal $* -> exit $rc, wanted $want_rc with \"$want_msg\"; got: ${out:0:300}"
    fails=$((fails + 1))
  else
    echo "ok: stepseal $* -> $rc"
  fi
}
expect 125 "run: --trace needs a value" run --trace
expect 125 "keygen: --out needs a value" keygen --out
expect 125 "verify: --pub needs a value" verify --image x --pub
expect 125 "run: unknown option '--no-such-option'" run --no-such-option --trace "$tmp/j" -- /bin/true
expect 125 "run: no command given" run --trace "$tmp/j" --
expect 125 "run: --trace is required" run -- /bin/true
expect 125 "run: --ring-mb wants a power of two from 1 to 1024, not 'abc'" run --ring-mb abc --trace "$tmp/j" -- /bin/true
expect 125 "--ring-mb wants a power of two" run --ring-mb=3 --trace="$tmp/j" -- /bin/true
expect 125 "--digests wants on or off" run --digests=maybe --trace "$tmp/j" -- /bin/true
expect 125 "--hardened needs --policy" run --hardened --trace "$tmp/j" -- /bin/true
expect 125 "show: unexpected argument 'b'" show a b
expect 125 "--format must be text or json, not 'xml'" show --format=xml "$tmp/j"
expect 125 "keygen: --type must be ecdsa or ed25519" keygen --out="$tmp/k" --type=rsa
expect 125 "unknown command 'frobnicate'" frobnicate
expect 125 "no command given"
expect 0 "Exit status:" --help
expect 0 "Usage: run" run --help
expect 0 "Usage: show" show -h
expect 0 "stepseal " version
# --opt=VALUE works everywhere: keygen and verify too (their old parsers did not take it)
expect 0 "" keygen --out="$tmp/k" --type=ed25519
[[ -s $tmp/k.key && -s $tmp/k.pub ]] || { echo "FAIL: keygen --out=... wrote no key"; fails=$((fails + 1)); }
expect 3 "" verify --pub="$tmp/k.pub" --image="$tmp/no-such-layout" "$tmp/no-such-envelope"
expect 3 "" show "$tmp/no-such-journal"
# --trace takes one value each time: what follows is an envelope. Without one, verify has
# nothing to check (125); with one after --trace, it goes on to read the layout (3).
expect 125 "envelopes (or --attached)" verify --pub="$tmp/k.pub" --image="$tmp/no-layout" --trace "$tmp/t1"
expect 3 "no-layout" verify --pub="$tmp/k.pub" --image="$tmp/no-layout" --trace "$tmp/t1" "$tmp/env1"
# "--opt=" with an empty value never takes the next argument as its value (it would have made
# run write its journal over the next file named)
cp /bin/true "$tmp/victim"
expect 125 "run: --trace needs a value" run --trace= "$tmp/victim" /bin/true
cmp -s /bin/true "$tmp/victim" || { echo "FAIL: run --trace= overwrote the next argument"; fails=$((fails + 1)); }
expect 125 "keygen: --out needs a value" keygen --out= --type ecdsa
expect 0 "" run -q --trace "$tmp/j" /bin/echo --trace=   # the command's own "--trace=" is its own
# --ring-mb is decimal: no octal, hex or wrapped negatives
expect 125 "--ring-mb wants a power of two from 1 to 1024, not '010'" run --ring-mb 010 --trace "$tmp/j" -- /bin/true
expect 125 "not '0x10'" run --ring-mb 0x10 --trace "$tmp/j" -- /bin/true
expect 125 "not '-1'" run --ring-mb=-1 --trace "$tmp/j" -- /bin/true
# a repeated single-value option takes its last value, as documented
expect 0 "" keygen --out "$tmp/first" --out "$tmp/second"
[[ -s $tmp/second.key && ! -e $tmp/first.key ]] || { echo "FAIL: keygen --out twice did not take the last"; fails=$((fails + 1)); }
# build: the same option syntax; the builder's arguments checked before anything runs
expect 125 "build: --out is required" build -- buildah bud --layers ctx
expect 125 "build: no builder command given" build --out "$tmp/rec"
expect 125 "add --image-out" build --out "$tmp/rec" --key k -- buildah bud --layers ctx
expect 125 "not '3'" build --ring-mb 3 --out "$tmp/rec" -- buildah bud --layers ctx
expect 125 "buildah or podman" build --out "$tmp/rec" -- docker build ctx
expect 125 "add --layers" build --out "$tmp/rec" -- buildah bud ctx
expect 125 "--isolation oci" build --out "$tmp/rec" -- podman build --isolation=chroot ctx
expect 125 "build: unknown option '--bogus'" build --out "$tmp/rec" --bogus -- buildah bud ctx
[[ ! -e "$tmp/rec" ]] || { echo "FAIL: a refused build left $tmp/rec"; fails=$((fails + 1)); }
((fails == 0)) || { echo "cli_test: $fails failure(s)"; exit 1; }
echo "cli_test: all passed"
