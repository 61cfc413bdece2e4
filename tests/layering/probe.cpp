// probe.cpp - compiled by the layering tests (tests/CMakeLists.txt) with the include directories
// of one stage library, including one header of another stage (STEPSEAL_PROBE_HEADER). It must
// compile when the stage depends on that stage, and must not when it does not.
#include STEPSEAL_PROBE_HEADER

int stepseal_layering_probe() { return 0; }
