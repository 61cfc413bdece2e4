#!/usr/bin/env bash
# check_show.sh STEPSEAL GOLDEN_BASE EXIT: `stepseal show BASE.journal --format json` exits EXIT
# and prints a summary with every field of BASE.summary.json, equal (new fields allowed, at any
# depth); the text form exits EXIT too. BASE.summary.txt is kept as a record of what the text
# said, not compared: the text is presentation, the JSON is the contract.
set -uo pipefail
bin=$1 base=$2 want_rc=$3
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$bin" show "$base.journal" >"$tmp/text" 2>"$tmp/err"; rc=$?
((rc == want_rc)) || { echo "show exited $rc, expected $want_rc"; cat "$tmp/err"; exit 1; }
"$bin" show "$base.journal" --format json >"$tmp/json" 2>/dev/null; rc=$?
((rc == want_rc)) || { echo "show --format json exited $rc, expected $want_rc"; exit 1; }
python3 - "$base.summary.json" "$tmp/json" <<'PY' || exit 1
import json, sys
want, got = (json.load(open(p)) for p in sys.argv[1:3])
def diff(w, g, at=""):
    if isinstance(w, dict) and isinstance(g, dict):
        for k, v in w.items():
            if k not in g: return f"{at}/{k} missing"
            d = diff(v, g[k], f"{at}/{k}")
            if d: return d
        return ""
    if isinstance(w, list) and isinstance(g, list) and len(w) == len(g):
        for i, (a, b) in enumerate(zip(w, g)):
            d = diff(a, b, f"{at}/{i}")
            if d: return d
        return ""
    return "" if w == g else f"{at}: was {json.dumps(w)[:200]}, now {json.dumps(g)[:200]}"
d = diff(want, got)
if d:
    print("json summary differs at", d); sys.exit(1)
PY
echo "golden: $(basename "$base") reads as it did"
