// shim_main.cpp - stepseal-runtime: the OCI runtime `stepseal build` gives the builder
// (runtime_shim.h). A small, statically linked program of its own: the builder calls it for
// every runtime command, `state` many times a second while a RUN runs, so it must start fast
// (the 90 MB stepseal binary took about 13 ms to load, per call, on the build's CPU).
#include "build/runtime_shim.h"

int main(int argc, char** argv) { return stepseal::build::shim_main(argc, argv); }
