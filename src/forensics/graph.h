// graph.h - the provenance graph of a case (docs/replay.md, "graph"): processes and files as
// nodes, read, write, exec and spawn as edges, in DOT or JSON. A whole build's graph is
// unreadable, so it can be focused on one path (the subgraph `why` walks) and directories
// collapsed into one node each.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "forensics/queries.h"

namespace stepseal::forensics {

struct GraphOptions {
  std::string focus;                  // a path: only who made it, from what, recursively
  std::vector<std::string> collapse;  // directories shown as one node each
  bool system = false;                // also /proc, /sys, /dev
  Format format = Format::kText;      // kText: DOT; kJson: {nodes, edges}
  int depth = 12;                     // with focus, as why's
};

struct GraphStats {
  size_t nodes = 0, edges = 0;
};
GraphStats graph(Db& db, const GraphOptions& o, std::ostream& out);

}  // namespace stepseal::forensics
