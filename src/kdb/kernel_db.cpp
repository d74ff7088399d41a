#include "kdb/kernel_db.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "base/log.h"

namespace jf::kdb {
namespace {

// Far beyond any real database (a record is ~500 bytes); a bigger file is not ours.
constexpr uint64_t kMaxFileBytes = 256ull << 20;
constexpr size_t kMaxLineBytes = 64 << 10;
// Corrupt lines named one by one in the log; the rest are counted.
constexpr int kMaxLineWarnings = 10;

Status io_error(const std::string& path, const char* what) {
  return error(StatusCode::kIoError, "%s: %s: %s", path.c_str(), what, std::strerror(errno));
}

// The whole file, or a Status: kNotFound when it does not exist.
Result<std::string> read_whole_file(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return errno == ENOENT ? error(StatusCode::kNotFound, "%s: no such file", path.c_str()) : io_error(path, "open");
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) > kMaxFileBytes) {
    close(fd);
    return error(StatusCode::kOutOfRange, "%s: larger than %llu bytes or unreadable", path.c_str(),
                 static_cast<unsigned long long>(kMaxFileBytes));
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = read(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the file shrank under us: keep what was read
    done += static_cast<size_t>(n);
  }
  close(fd);
  text.resize(done);
  return text;
}

Status write_all(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error(path, "write");
    done += static_cast<size_t>(n);
  }
  return Status();
}

Status create_parent_dirs(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return Status();
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  if (ec) return error(StatusCode::kIoError, "%s: cannot create folder: %s", parent.c_str(), ec.message().c_str());
  return Status();
}

// A file that does not end with a newline had its last append cut short: start on a new line
// so that the new record is not glued to the broken one.
bool needs_leading_newline(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size == 0) return false;
  char last = '\n';
  return pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n';
}

std::string describe(const std::string& op, const Workload& w) {
  return str_printf("%s %s n=%lld k=%lld batch=%lld threads=%d", op.c_str(), w.dtype.c_str(), static_cast<long long>(w.n),
                    static_cast<long long>(w.k), static_cast<long long>(w.batch), w.threads);
}

}  // namespace

std::string KernelDb::default_path() {
  if (const char* env = std::getenv("JITFLOW_KDB"); env != nullptr && *env != '\0') return env;
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::string(home) + "/.cache/jitflow/kdb.jsonl";
  }
  return "jitflow-kdb.jsonl";
}

KernelDb KernelDb::load(const std::string& path) {
  KernelDb db;
  db.path_ = path;
  Result<std::string> text = read_whole_file(path);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) JF_LOG_INFO("kdb %s: no file yet, starting empty", path.c_str());
    else JF_LOG_WARN("kdb %s: %s; using no tuned kernels", path.c_str(), text.status().message().c_str());
    return db;
  }
  size_t start = 0;
  for (int line_number = 1; start < text->size(); ++line_number) {
    size_t end = text->find('\n', start);
    if (end == std::string::npos) end = text->size();
    std::string_view line(text->data() + start, end - start);
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    Result<Record> record = line.size() > kMaxLineBytes
                                ? Result<Record>(error(StatusCode::kCorruptFile, "line longer than %zu bytes", kMaxLineBytes))
                                : record_from_json_line(line);
    if (!record.ok()) {
      if (++db.n_skipped_lines_ <= kMaxLineWarnings) {
        JF_LOG_WARN("kdb %s:%d: skipped: %s", path.c_str(), line_number, record.status().message().c_str());
      }
      continue;
    }
    std::string canonical = record_to_json_line(*record);
    db.add(std::move(record).value(), std::move(canonical));
  }
  if (db.n_skipped_lines_ > kMaxLineWarnings) {
    JF_LOG_WARN("kdb %s: %d more lines skipped", path.c_str(), db.n_skipped_lines_ - kMaxLineWarnings);
  }
  return db;
}

void KernelDb::add(Record record, std::string line) {
  if (!lines_.insert(std::move(line)).second) return;
  records_.push_back(std::move(record));
}

const Record* KernelDb::lookup(const std::string& fingerprint, const std::string& generator, const std::string& op,
                               const Workload& workload) const {
  const Record* best = nullptr;
  int n_stale = 0;
  for (const Record& r : records_) {
    if (r.fingerprint != fingerprint || r.op != op || !(r.workload == workload)) continue;
    if (r.generator != generator) {
      ++n_stale;
      continue;
    }
    if (best == nullptr || r.median_ns < best->median_ns) best = &r;
  }
  if (best == nullptr && n_stale > 0) {
    JF_LOG_WARN("kdb %s: %d record(s) for %s come from another generator than %s: stale, ignored", path_.c_str(),
                n_stale, describe(op, workload).c_str(), generator.c_str());
  }
  return best;
}

bool KernelDb::contains(const Record& record) const { return lines_.count(record_to_json_line(record)) != 0; }

Status KernelDb::append(const Record& record) {
  std::string line = record_to_json_line(record);
  if (Result<Record> check = record_from_json_line(line); !check.ok()) {
    return error(StatusCode::kInvalidArgument, "not a valid kdb record: %s", check.status().message().c_str());
  }
  if (lines_.count(line) != 0) return Status();
  if (path_.empty()) return error(StatusCode::kInvalidArgument, "kdb has no file to append to");
  JF_RETURN_IF_ERROR(create_parent_dirs(path_));
  const int fd = open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);  // read: see needs_leading_newline
  if (fd < 0) return io_error(path_, "open for append");
  Status status;
  if (flock(fd, LOCK_EX) != 0) status = io_error(path_, "lock");
  // One write() per record: with O_APPEND and the lock, lines from two processes never mix.
  const std::string text = (needs_leading_newline(fd) ? "\n" : "") + line + "\n";
  if (status.ok()) status = write_all(fd, text, path_);
  if (status.ok() && fsync(fd) != 0) status = io_error(path_, "fsync");
  close(fd);  // also releases the lock
  JF_RETURN_IF_ERROR(status);
  add(record, std::move(line));
  return Status();
}

int KernelDb::merge(const KernelDb& other) {
  const size_t before = records_.size();
  for (const Record& r : other.records_) add(r, record_to_json_line(r));
  return static_cast<int>(records_.size() - before);
}

Result<int> KernelDb::import_from(const KernelDb& other) {
  int n_added = 0;
  for (const Record& r : other.records_) {
    if (contains(r)) continue;
    JF_RETURN_IF_ERROR(append(r));
    ++n_added;
  }
  return n_added;
}

Result<int> KernelDb::write_file(const std::string& path, const std::string& fingerprint) const {
  std::string text;
  int n_written = 0;
  for (const Record& r : records_) {
    if (!fingerprint.empty() && r.fingerprint != fingerprint) continue;
    text += record_to_json_line(r) + "\n";
    ++n_written;
  }
  JF_RETURN_IF_ERROR(create_parent_dirs(path));
  const std::string temp = path + ".tmp." + std::to_string(getpid());
  const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error(temp, "open");
  Status status = write_all(fd, text, temp);
  if (status.ok() && fsync(fd) != 0) status = io_error(temp, "fsync");
  close(fd);
  if (status.ok() && std::rename(temp.c_str(), path.c_str()) != 0) status = io_error(path, "rename");
  if (!status.ok()) {
    unlink(temp.c_str());
    return status;
  }
  return n_written;
}

}  // namespace jf::kdb
