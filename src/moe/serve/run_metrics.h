// serve/run_metrics.h: GET /v1/run, a training run's metrics.jsonl read fresh on every
// request while the trainer may be appending to it.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace moe::serve {

// {"dir": run_dir, "records": [records[from:]...], "next": total records,
//  "bad_lines": [1-based numbers of complete lines that are not a JSON object]}.
// A last line without its newline is a record being written: it is included only if it
// already parses as a JSON object. A missing file is a run that has not logged yet (no
// records); a missing directory throws moe::Error naming it.
nlohmann::json read_run_records(const std::string& run_dir, int64_t from);

}  // namespace moe::serve
