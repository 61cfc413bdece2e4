#!/usr/bin/env bash
# run.sh replay|fuzz HARNESS NAME: one libFuzzer harness of tests/fuzz (see CMakeLists.txt there).
#   replay  every input of corpus/NAME and regressions/NAME, once each
#   fuzz    fuzz for STEPSEAL_FUZZ_SECONDS (default 30), from those inputs and with dict/NAME.dict
# Exit status: the harness's (0: no crash, no leak, no broken invariant).
set -euo pipefail
mode=$1 bin=$2 name=$3
here=$(cd "$(dirname "$0")" && pwd)
out=$(dirname "$bin")
seeds=("$here/corpus/$name")
[[ -d $here/regressions/$name ]] && seeds+=("$here/regressions/$name")
# Bounded memory and time per input: a parser that needs more for one input is itself a finding.
limits=(-rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=20)
case $mode in
  replay)
    mapfile -t files < <(find "${seeds[@]}" -type f | sort)
    ((${#files[@]})) || { echo "run.sh: no inputs for $name in ${seeds[*]}" >&2; exit 1; }
    echo "replaying ${#files[@]} inputs of $name"
    exec "$bin" "${limits[@]}" "${files[@]}"
    ;;
  fuzz)
    work="$out/corpus/$name" artifacts="$out/artifacts/$name/"
    mkdir -p "$work" "$artifacts"
    dict=()
    [[ -f $here/dict/$name.dict ]] && dict=(-dict="$here/dict/$name.dict")
    secs=${STEPSEAL_FUZZ_SECONDS:-30}
    echo "fuzzing $name for ${secs}s; new inputs in $work, crashes in $artifacts"
    exec "$bin" "${limits[@]}" "${dict[@]}" -max_total_time="$secs" -print_final_stats=1 \
      -artifact_prefix="$artifacts" "$work" "${seeds[@]}"
    ;;
  *) echo "usage: run.sh replay|fuzz HARNESS NAME" >&2; exit 2 ;;
esac
