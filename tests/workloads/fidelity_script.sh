#!/bin/sh
# Workload for the fidelity e2e test: a shell script whose file and exec activity is compared with
# an independent observer (strace) of the same run.
#
#   fidelity_script.sh setup WORK   prepare WORK (run untraced, before the traced run)
#   fidelity_script.sh run WORK PROGS
#
# "run" exercises: cd and relative paths, pipes, >> and > on an existing file, dirfd-relative
# access (an inherited directory descriptor opened by the helper program PROGS/openat_cat with
# openat), and a double-forked setsid daemon that does its own file work and then tells the
# script it is done through the fifo WORK/daemon.fifo; the daemon exits by itself.
# Directories and the fifo are created by "setup" so that "run" creates files only by open().
set -eu

mode=$1
work=$2

case $mode in
setup)
  mkdir -p "$work/data" "$work/out" "$work/daemon"
  printf 'alpha\nbeta\ngamma\n' >"$work/data/input.txt"
  printf 'delta\n' >"$work/data/extra.txt"
  mkfifo "$work/daemon.fifo"
  exit 0
  ;;
run)
  progs=$3
  ;;
*)
  echo "usage: $0 setup WORK | run WORK PROGS" >&2
  exit 2
  ;;
esac

cd "$work/data"
cat input.txt ../data/extra.txt >../out/joined.txt
cd ..

sort -r out/joined.txt | tr a-z A-Z >out/upper.txt
wc -l <out/upper.txt >out/count.txt
echo appended >>out/joined.txt
: >out/joined.txt

exec 3<data
"$progs/openat_cat" 3 input.txt >out/via_dirfd.txt
exec 3<&-

(setsid sh -c 'cd "$1" && sort data/input.txt >daemon/sorted.txt && cat data/extra.txt >daemon/extra.txt && echo done >daemon.fifo' daemon "$work" &)
read -r status <daemon.fifo
test "$status" = done
cat daemon/sorted.txt daemon/extra.txt >out/from_daemon.txt
