#!/usr/bin/env bash
# fetch_sources_test: tools/fetch-sources against a simulated Debian archive. Fake apt-cache and
# apt-get (first on PATH) stand in for apt; no network, no root. They simulate:
#   - a newest version whose files answer 404 (the zlib 1:1.2.13.dfsg-1+deb12u1 case): the tool
#     must fall back to the next older version, and say which one it used;
#   - a transient failure (twice, then success): the tool must retry, within its bound;
#   - a package no version of which downloads: the tool must name it, exit non-zero, and still
#     fetch the others;
#   - a transient failure that never ends: the tool gives up after STEPSEAL_FETCH_ATTEMPTS tries.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/stepseal-fetch-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
check() {  # check DESCRIPTION COMMAND...: records a failure instead of stopping at the first one
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what" >&2; fails=$((fails + 1)); fi
}

mkdir -p "$tmp/bin" "$tmp/archive" "$tmp/state"
# The simulated archive: per package, the versions the index lists, and how each download behaves
# (ok | 404 | flaky:N = fails transiently N times then works | down = always fails transiently).
cat >"$tmp/archive/index" <<'IDX'
zlib 1:1.2.13.dfsg-1+deb12u1 404
zlib 1:1.2.13.dfsg-1 ok
zlib 1:1.2.11.dfsg-4 ok
lua5.4 5.4.4-3 flaky:2
lua5.4 5.4.4-2 ok
gone 2.0-1 404
gone 1.0-1 404
stuck 1.0-1 down
flaky 2.0-1 down
flaky 1.0-1 ok
broken 1.0-1 truncated
IDX

cat >"$tmp/bin/apt-cache" <<'SH'
#!/usr/bin/env bash
# fake apt-cache: only "showsrc --only-source PKG"; versions in index order (not sorted).
pkg=${!#}
found=0
while read -r p v _; do
  [[ $p == "$pkg" ]] || continue
  found=1; printf 'Package: %s\nVersion: %s\n\n' "$p" "$v"
done <"$FAKE_ARCHIVE/index"
((found)) || exit 0
SH

cat >"$tmp/bin/apt-get" <<'SH'
#!/usr/bin/env bash
# fake apt-get: "indextargets" (a deb-src entry exists, so the tool writes none), "update" (a
# no-op), and "source --download-only PKG=VERSION" into the current directory. Anything else is
# refused, so the tool can never reach the real apt.
for a in "$@"; do
  case $a in
    indextargets) echo Sources; exit 0 ;;
    update) exit 0 ;;
    source) break ;;
    -*|APT::*) ;;
    *) echo "fake apt-get: unexpected command: $*" >&2; exit 99 ;;
  esac
done
spec=${!#}; pkg=${spec%%=*}; ver=${spec#*=}
echo "$spec" >>"$FAKE_STATE/calls"
how=$(awk -v p="$pkg" -v v="$ver" '$1 == p && $2 == v {print $3}' "$FAKE_ARCHIVE/index")
url="http://deb.debian.org/debian/pool/main/x/$pkg/${pkg}_${ver#*:}.orig.tar.gz"
case $how in
  404) echo "E: Failed to fetch $url  404  Not Found [IP: 127.0.0.1 80]" >&2; exit 100 ;;
  down) echo "E: Failed to fetch $url  Temporary failure resolving 'deb.debian.org'" >&2; exit 100 ;;
  flaky:*) n=${how#flaky:}; c="$FAKE_STATE/$pkg-$ver.tries"
           t=$(($(cat "$c" 2>/dev/null || echo 0) + 1)); echo "$t" >"$c"
           if ((t <= n)); then echo "E: Failed to fetch $url  Connection timed out" >&2; exit 100; fi ;;
  ok|truncated) ;;
  *) echo "E: Unable to find a source package for $spec" >&2; exit 100 ;;
esac
up=${ver#*:}; upstream=${up%-*}
mkdir -p "src/$pkg-$upstream"; echo "$pkg $ver" >"src/$pkg-$upstream/VERSION"
tar -czf "${pkg}_${upstream}.orig.tar.gz" -C src "$pkg-$upstream"; rm -rf src
if [[ $how == truncated ]]; then  # a download that arrived short: the tarball is cut
  head -c 20 "${pkg}_${upstream}.orig.tar.gz" >t && mv t "${pkg}_${upstream}.orig.tar.gz"
fi
printf 'Format: 3.0 (quilt)\nSource: %s\nVersion: %s\nFiles:\n 0123 1 %s\n' \
  "$pkg" "$ver" "${pkg}_${upstream}.orig.tar.gz" >"${pkg}_${up}.dsc"
SH
# fake sudo: as a non-root user the tool runs apt through sudo, whose secure_path would find the
# real apt-get; this one runs the fake instead.
cat >"$tmp/bin/sudo" <<'SH'
#!/usr/bin/env bash
exec "$@"
SH
chmod +x "$tmp/bin/apt-cache" "$tmp/bin/apt-get" "$tmp/bin/sudo"
export PATH="$tmp/bin:$PATH" FAKE_ARCHIVE="$tmp/archive" FAKE_STATE="$tmp/state"
export STEPSEAL_FETCH_BACKOFF=0 STEPSEAL_FETCH_ATTEMPTS=3

run() {  # run NAME ARGS...: fetch-sources with stdout/stderr/status kept under $tmp/NAME.*
  local name=$1; shift
  set +e
  "$root/tools/fetch-sources" --no-deps --dest "$tmp/cache" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
  echo $? >"$tmp/$name.rc"
  set -e
}

# 1. zlib: the newest version answers 404, the next one is used.
: >"$tmp/state/calls"
run zlib --with-versions zlib
check "zlib: exit 0" test "$(cat "$tmp/zlib.rc")" = 0
check "zlib: prints the tree and the version it fell back to" \
  test "$(cat "$tmp/zlib.out")" = "$tmp/cache/zlib	1:1.2.13.dfsg-1"
check "zlib: the unpacked tree is that version" \
  test "$(cat "$tmp/cache/zlib/VERSION" 2>/dev/null)" = "zlib 1:1.2.13.dfsg-1"
check "zlib: tried newest first, then stopped at the first that worked" \
  test "$(cat "$tmp/state/calls")" = $'zlib=1:1.2.13.dfsg-1+deb12u1\nzlib=1:1.2.13.dfsg-1'
check "zlib: says the newest is not in the archive" grep -q '1:1.2.13.dfsg-1+deb12u1: not in the archive' "$tmp/zlib.err"
check "zlib: says which version it used" grep -q 'zlib: using version 1:1.2.13.dfsg-1' "$tmp/zlib.err"
check "zlib: version kept beside the tree" test "$(cat "$tmp/cache/.zlib.version")" = "1:1.2.13.dfsg-1"

# 2. lua5.4: the newest fails twice transiently, and is retried until it works.
: >"$tmp/state/calls"
run lua lua5.4
check "lua5.4: exit 0" test "$(cat "$tmp/lua.rc")" = 0
check "lua5.4: plain output is the path alone" test "$(cat "$tmp/lua.out")" = "$tmp/cache/lua5.4"
check "lua5.4: the newest version, after two retries" \
  test "$(cat "$tmp/state/calls")" = $'lua5.4=5.4.4-3\nlua5.4=5.4.4-3\nlua5.4=5.4.4-3'
check "lua5.4: the tree is the newest version" test "$(cat "$tmp/cache/lua5.4/VERSION")" = "lua5.4 5.4.4-3"
check "lua5.4: the retries are logged" grep -q 'download failed (try 2 of 3)' "$tmp/lua.err"

# 3. A package with no downloadable version is named, and does not sink the others.
rm -rf "$tmp/cache"; : >"$tmp/state/calls"
run mixed gone zlib
check "gone: exit 1" test "$(cat "$tmp/mixed.rc")" = 1
check "gone: the error names the package" grep -q 'could not fetch the sources of: gone' "$tmp/mixed.err"
check "gone: every known version was tried" grep -q "gone: no version could be downloaded (tried 2.0-1 1.0-1)" "$tmp/mixed.err"
check "gone: zlib was still fetched" test "$(cat "$tmp/cache/zlib/VERSION" 2>/dev/null)" = "zlib 1:1.2.13.dfsg-1"

# 4. A transient failure that never ends: bounded tries per version, then a clear error.
: >"$tmp/state/calls"
run stuck stuck
check "stuck: exit 1" test "$(cat "$tmp/stuck.rc")" = 1
check "stuck: exactly STEPSEAL_FETCH_ATTEMPTS tries" test "$(wc -l <"$tmp/state/calls")" = 3
check "stuck: the error names the package" grep -q 'could not fetch the sources of: stuck' "$tmp/stuck.err"

# 4b. A transient failure on the newest version never falls back to an older one.
: >"$tmp/state/calls"
run flaky flaky
check "flaky: exit 1" test "$(cat "$tmp/flaky.rc")" = 1
check "flaky: the older version was not tried" bash -c "! grep -q 'flaky=1.0-1' '$tmp/state/calls'"
check "flaky: says it does not fall back" grep -q 'not falling back to an older one' "$tmp/flaky.err"
check "flaky: no tree" test ! -e "$tmp/cache/flaky"

# 4c. A tarball that does not unpack leaves no tree and no stamp.
run broken broken
check "broken: exit 1" test "$(cat "$tmp/broken.rc")" = 1
check "broken: says it cannot unpack" grep -q 'broken: cannot unpack' "$tmp/broken.err"
check "broken: no tree, no stamp" bash -c "test ! -e '$tmp/cache/broken' && test ! -e '$tmp/cache/.broken.stamp'"

# 5. A package apt does not know at all.
run unknown no-such-package
check "unknown: exit 1" test "$(cat "$tmp/unknown.rc")" = 1
check "unknown: says apt knows no version" grep -q 'no-such-package: apt knows no version' "$tmp/unknown.err"
check "unknown: no deb-src entry written (the fake says one exists)" \
  bash -c "! grep -q 'writing' '$tmp/unknown.err'"

# 6. Bad settings are refused.
STEPSEAL_FETCH_ATTEMPTS=0 run badattempts zlib
check "attempts=0 refused" grep -q 'STEPSEAL_FETCH_ATTEMPTS must be a positive integer' "$tmp/badattempts.err"

if ((fails)); then
  for f in "$tmp"/*.err; do echo "--- $f"; cat "$f"; done >&2
  echo "fetch_sources_test: $fails check(s) failed" >&2
  exit 1
fi
echo "fetch_sources_test: all checks passed"
