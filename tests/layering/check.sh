#!/usr/bin/env bash
# check.sh BUILD_DIR TARGET ok|fail HEADER: builds the layering probe TARGET and checks that it
# compiles (ok), or fails for the one reason it should (fail): HEADER is not on the stage's
# include path.
set -uo pipefail
build=$1 target=$2 want=$3 header=$4
out=$(cmake --build "$build" --target "$target" 2>&1)
rc=$?
case $want in
  ok)
    if ((rc != 0)); then
      echo "layering: $target should build (it includes $header, a stage it depends on):"; echo "$out"
      exit 1
    fi
    echo "layering: $target builds, as it should" ;;
  fail)
    if ((rc == 0)); then
      echo "layering: $target built, but it includes $header, a stage it must not depend on"
      exit 1
    fi
    if ! grep -qF "$header: No such file or directory" <<<"$out"; then
      echo "layering: $target failed, but not because $header is out of reach:"; echo "$out"
      exit 1
    fi
    echo "layering: $target does not build: $header is out of its reach, as it should be" ;;
  *) echo "usage: check.sh BUILD_DIR TARGET ok|fail HEADER"; exit 2 ;;
esac
