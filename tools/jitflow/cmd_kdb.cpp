// jitflow kdb list|merge|export|import: look at and share kernel databases (src/kdb), so that
// results tuned on one machine warm-start machines of the same kind.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "args.h"
#include "commands.h"
#include "kdb/kernel_db.h"

namespace jf::cli {
namespace {

using kdb::KernelDb;
using kdb::Record;

constexpr const char* kUsage =
    "usage: jitflow kdb <action> [options]\n"
    "Kernel database: the tuned winners per device, generator version, op and workload.\n\n"
    "actions:\n"
    "  list   [--db F] [--fingerprint X]          table of the records (default db: $JITFLOW_KDB or\n"
    "                                             ~/.cache/jitflow/kdb.jsonl)\n"
    "  merge  A B ... -o C                         union of files A, B, ... without duplicates into C\n"
    "  export [--db F] [--fingerprint X] -o OUT    records of one device (default: this one) into OUT\n"
    "  import [--db F] FILE ...                    append FILE's valid records to the db, skipping duplicates\n\n"
    "run `jitflow kdb <action> --help` for the options of an action\n";

int fail(const Status& status) {
  std::fprintf(stderr, "jitflow kdb: %s\n", status.to_string().c_str());
  return 1;
}

// An input file named on the command line must exist: KernelDb::load treats a missing file as an
// empty cache, which would turn a typo into "0 records".
Status check_input_exists(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return error(StatusCode::kNotFound, "%s: cannot read it: %s", path.c_str(), std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return error(StatusCode::kInvalidArgument, "%s: not a regular file", path.c_str());
  return Status();
}

std::string workload_text(const kdb::Workload& w) {
  return str_printf("%s n=%lld k=%lld b=%lld t=%d", w.dtype.c_str(), static_cast<long long>(w.n),
                    static_cast<long long>(w.k), static_cast<long long>(w.batch), w.threads);
}

void print_record(const Record& r, const std::string& this_device) {
  const double speedup = r.default_ns > 0 ? r.default_ns / r.median_ns : 0;
  const std::string speedup_text = speedup > 0 ? str_printf("%.2fx", speedup) : "-";
  std::printf("%-17s %-10s %-8s %-38s %-40s %12.0f %7s %5lld  %s\n",
              (r.fingerprint + (r.fingerprint == this_device ? "*" : "")).c_str(), r.generator.c_str(), r.op.c_str(),
              workload_text(r.workload).c_str(), r.canonical_name.c_str(), r.median_ns, speedup_text.c_str(),
              static_cast<long long>(r.tried), r.time.c_str());
}

int kdb_list(int argc, char** argv) {
  std::string db_path = KernelDb::default_path(), fingerprint;
  ArgParser parser("jitflow kdb list", "Print the records of a kernel database (* = this device).");
  parser.add("", "--db", &db_path, "database file");
  parser.add("", "--fingerprint", &fingerprint, "only records of this device fingerprint");
  if (std::optional<int> exit_code = parse_command(parser, argc, argv)) return *exit_code;
  const KernelDb db = KernelDb::load(db_path);
  const std::string this_device = kdb::current_device().hash();
  std::printf("%s: %zu records, %d lines skipped; this device is %s (%s)\n\n", db_path.c_str(), db.records().size(),
              db.n_skipped_lines(), this_device.c_str(), kdb::current_device().cpu_model.c_str());
  std::printf("%-17s %-10s %-8s %-38s %-40s %12s %7s %5s  %s\n", "fingerprint", "generator", "op", "workload",
              "kernel", "median ns", "vs def", "tried", "time");
  for (const Record& r : db.records()) {
    if (fingerprint.empty() || r.fingerprint == fingerprint) print_record(r, this_device);
  }
  return 0;
}

int kdb_merge(int argc, char** argv) {
  std::string out_path;
  std::vector<std::string> inputs;
  ArgParser parser("jitflow kdb merge", "Merge kernel databases into a new file, dropping duplicate records.");
  parser.add("-o", "--output", &out_path, "file to write (replaced atomically)");
  parser.allow_positional("FILE...", &inputs);
  if (std::optional<int> exit_code = parse_command(parser, argc, argv)) return *exit_code;
  if (inputs.empty() || out_path.empty()) {
    std::fprintf(stderr, "%s", parser.usage().c_str());
    return 2;
  }
  KernelDb merged;
  for (const std::string& input : inputs) {
    if (Status s = check_input_exists(input); !s.ok()) return fail(s);
    merged.merge(KernelDb::load(input));
  }
  auto written = merged.write_file(out_path);
  if (!written.ok()) return fail(written.status());
  std::printf("wrote %d records to %s\n", *written, out_path.c_str());
  return 0;
}

int kdb_export(int argc, char** argv) {
  std::string db_path = KernelDb::default_path(), out_path, fingerprint = kdb::current_device().hash();
  ArgParser parser("jitflow kdb export", "Write the records of one device to a file to share.");
  parser.add("", "--db", &db_path, "database file");
  parser.add("", "--fingerprint", &fingerprint, "device fingerprint (default: this device)");
  parser.add("-o", "--output", &out_path, "file to write (replaced atomically)");
  if (std::optional<int> exit_code = parse_command(parser, argc, argv)) return *exit_code;
  if (out_path.empty()) {
    std::fprintf(stderr, "%s", parser.usage().c_str());
    return 2;
  }
  auto written = KernelDb::load(db_path).write_file(out_path, fingerprint);
  if (!written.ok()) return fail(written.status());
  std::printf("exported %d records of device %s to %s\n", *written, fingerprint.c_str(), out_path.c_str());
  return 0;
}

int kdb_import(int argc, char** argv) {
  std::string db_path = KernelDb::default_path();
  std::vector<std::string> inputs;
  ArgParser parser("jitflow kdb import", "Append the valid records of files to the database, skipping duplicates.");
  parser.add("", "--db", &db_path, "database file");
  parser.allow_positional("FILE...", &inputs);
  if (std::optional<int> exit_code = parse_command(parser, argc, argv)) return *exit_code;
  if (inputs.empty()) {
    std::fprintf(stderr, "%s", parser.usage().c_str());
    return 2;
  }
  for (const std::string& input : inputs) {
    if (Status s = check_input_exists(input); !s.ok()) return fail(s);
  }
  KernelDb db = KernelDb::load(db_path);
  for (const std::string& input : inputs) {
    const KernelDb incoming = KernelDb::load(input);
    auto added = db.import_from(incoming);
    if (!added.ok()) return fail(added.status());
    std::printf("%s: %d of %zu records added to %s (%d invalid lines skipped)\n", input.c_str(), *added,
                incoming.records().size(), db_path.c_str(), incoming.n_skipped_lines());
  }
  return 0;
}

}  // namespace

int cmd_kdb(int argc, char** argv) {
  struct Action {
    const char* name;
    int (*run)(int, char**);
  };
  constexpr Action kActions[] = {{"list", kdb_list}, {"merge", kdb_merge}, {"export", kdb_export}, {"import", kdb_import}};
  if (argc >= 1) {
    for (const Action& a : kActions) {
      if (std::strcmp(argv[0], a.name) == 0) return a.run(argc - 1, argv + 1);
    }
  }
  const bool help = argc >= 1 && (std::strcmp(argv[0], "-h") == 0 || std::strcmp(argv[0], "--help") == 0);
  std::fprintf(help ? stdout : stderr, "%s", kUsage);
  return help ? 0 : 2;
}

}  // namespace jf::cli
