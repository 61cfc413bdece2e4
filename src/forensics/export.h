// export.h - a case's events for other tools (docs/replay.md):
//
//   export_ecs   one JSON object per line, with Elastic Common Schema field names (nested, as
//                ECS documents are): what fleets load into Elasticsearch, ClickHouse, DuckDB
//   timeline     Chrome/Perfetto trace-event JSON: a track per process (one slice for its
//                life), its exec, file and network operations as instants, spawns as flows;
//                loads in ui.perfetto.dev and chrome://tracing
#pragma once

#include <cstdint>
#include <ostream>

namespace stepseal::forensics {

class Db;

// Returns the number of lines written.
uint64_t export_ecs(Db& db, std::ostream& out);

struct TimelineStats {
  uint64_t processes = 0, instants = 0, flows = 0;
};
TimelineStats timeline(Db& db, std::ostream& out);

}  // namespace stepseal::forensics
