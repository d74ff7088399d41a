// The kernel database: an append-only file of JSON lines (kdb/record.h), one per tuned winner.
//
// A cache, never a dependency: a missing file is an empty database, a corrupt line is skipped
// with a warning naming the file and line, a record from another generator version or another
// device simply does not match. Nothing here fails a run; only writing can return an error.
//
// Threads: a KernelDb is not synchronised; use one per thread or guard it. Processes: append()
// takes an exclusive flock and writes each line with a single write(), so concurrent appenders
// on one machine do not interleave lines.
#pragma once

#include <string>
#include <unordered_set>
#include <vector>

#include "jitflow/status.h"
#include "kdb/record.h"

namespace jf::kdb {

class KernelDb {
 public:
  KernelDb() = default;

  // $JITFLOW_KDB if set, else $HOME/.cache/jitflow/kdb.jsonl, else ./jitflow-kdb.jsonl.
  static std::string default_path();

  // Reads `path`. Missing: empty database (info log). Unreadable or oversized: empty database
  // (warning). Corrupt lines: skipped (warning with file and line number); the rest is kept.
  static KernelDb load(const std::string& path);

  const std::string& path() const { return path_; }
  const std::vector<Record>& records() const { return records_; }
  int n_skipped_lines() const { return n_skipped_lines_; }

  // The fastest record (lowest median_ns) for exactly this key; nullptr on a miss. A miss while
  // records exist for another generator version is logged as stale.
  const Record* lookup(const std::string& fingerprint, const std::string& generator, const std::string& op,
                       const Workload& workload) const;

  // True when an identical record (same JSON line) is already held.
  bool contains(const Record& record) const;

  // Validates `record`, appends it to the file (creating parent folders; fsync'd) and keeps it.
  Status append(const Record& record);

  // Adds the records of `other` that are not already here, in memory only; returns how many.
  int merge(const KernelDb& other);

  // Appends to this database's file each record of `other` it does not hold; returns how many.
  Result<int> import_from(const KernelDb& other);

  // Writes the records whose fingerprint is `fingerprint` (all when empty) to a new file at
  // `path`, replacing it atomically (temporary file + rename); returns how many.
  Result<int> write_file(const std::string& path, const std::string& fingerprint = "") const;

 private:
  void add(Record record, std::string line);

  std::string path_;
  std::vector<Record> records_;
  std::unordered_set<std::string> lines_;  // JSON line of every record, for duplicates
  int n_skipped_lines_ = 0;
};

}  // namespace jf::kdb
