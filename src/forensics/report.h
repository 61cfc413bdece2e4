// report.h - one self-contained HTML page of a case (docs/replay.md, "report"): summary,
// completeness, process tree, timeline, network, overwrites, failures and digests. No network,
// no CDN: the data is embedded as JSON and drawn by inline script.
#pragma once

#include <ostream>

namespace stepseal::forensics {

class Db;

struct ReportStats {
  size_t processes = 0;
  bool truncated = false;  // a section listed only its first rows (the page says so)
};
ReportStats report(Db& db, std::ostream& out);

}  // namespace stepseal::forensics
