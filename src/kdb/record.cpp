#include "kdb/record.h"

#include <cmath>
#include <ctime>

#include "base/json.h"

namespace jf::kdb {
namespace {

// Integers are stored as JSON numbers; above 2^53 a double no longer holds every integer.
constexpr double kMaxExactInteger = 9007199254740992.0;

Json device_to_json(const DeviceFingerprint& d) {
  Json j = Json::object();
  j.set("cpu_model", Json::string(d.cpu_model));
  j.set("features", Json::string(d.features));
  j.set("l1d_bytes", Json::number(static_cast<double>(d.l1d_bytes)));
  j.set("l2_bytes", Json::number(static_cast<double>(d.l2_bytes)));
  j.set("l3_bytes", Json::number(static_cast<double>(d.l3_bytes)));
  j.set("n_cpus", Json::number(d.n_cpus));
  return j;
}

Json workload_to_json(const Workload& w) {
  Json j = Json::object();
  j.set("dtype", Json::string(w.dtype));
  j.set("n", Json::number(static_cast<double>(w.n)));
  j.set("k", Json::number(static_cast<double>(w.k)));
  j.set("batch", Json::number(static_cast<double>(w.batch)));
  j.set("threads", Json::number(w.threads));
  return j;
}

// Reads the members of one JSON object by name and type; remembers the first problem, and
// finish() also rejects members nobody asked for.
class FieldReader {
 public:
  FieldReader(const Json& object, std::string where) : object_(object), where_(std::move(where)) {
    if (!object.is_object()) fail("", "is missing or not an object");
  }

  std::string string(const char* name) {
    const Json* v = get(name);
    if (v == nullptr) return "";
    if (!v->is_string()) {
      fail(name, "is not a string");
      return "";
    }
    return v->as_string();
  }

  // An integer in [min, max].
  int64_t integer(const char* name, int64_t min, int64_t max) {
    const Json* v = get(name);
    if (v == nullptr) return 0;
    const double x = v->is_number() ? v->as_number() : NAN;
    if (!(x == std::floor(x) && std::fabs(x) <= kMaxExactInteger)) {
      fail(name, "is not an integer");
      return 0;
    }
    if (x < static_cast<double>(min) || x > static_cast<double>(max)) {
      fail(name, "is out of range");
      return 0;
    }
    return static_cast<int64_t>(x);
  }

  // A finite number >= min.
  double number(const char* name, double min) {
    const Json* v = get(name);
    if (v == nullptr) return 0;
    if (!v->is_number() || !(v->as_number() >= min)) {
      fail(name, "is not a number in range");
      return 0;
    }
    return v->as_number();
  }

  const Json& object(const char* name) {
    static const Json kNull;
    const Json* v = get(name);
    if (v == nullptr) return kNull;
    if (!v->is_object()) {
      fail(name, "is not an object");
      return kNull;
    }
    return *v;
  }

  Status finish() {
    if (!status_.ok() || !object_.is_object()) return status_;
    for (const auto& [name, value] : object_.members()) {
      bool known = false;
      for (const std::string& seen : asked_) known = known || seen == name;
      if (!known) return error(StatusCode::kCorruptFile, "%s: unknown field '%s'", where_.c_str(), name.c_str());
    }
    return status_;
  }

 private:
  const Json* get(const char* name) {
    asked_.emplace_back(name);
    const Json* v = object_.find(name);
    if (v == nullptr) fail(name, "is missing");
    return v;
  }

  void fail(const char* name, const char* what) {
    if (status_.ok()) {
      status_ = error(StatusCode::kCorruptFile, "%s%s%s %s", where_.c_str(), *name ? "." : "", name, what);
    }
  }

  const Json& object_;
  std::string where_;
  std::vector<std::string> asked_;
  Status status_;
};

constexpr int64_t kMaxDimension = int64_t{1} << 40;

Status read_device(const Json& json, DeviceFingerprint* d) {
  FieldReader r(json, "device");
  d->cpu_model = r.string("cpu_model");
  d->features = r.string("features");
  d->l1d_bytes = static_cast<uint64_t>(r.integer("l1d_bytes", 0, kMaxDimension));
  d->l2_bytes = static_cast<uint64_t>(r.integer("l2_bytes", 0, kMaxDimension));
  d->l3_bytes = static_cast<uint64_t>(r.integer("l3_bytes", 0, kMaxDimension));
  d->n_cpus = static_cast<int>(r.integer("n_cpus", 1, 1 << 20));
  return r.finish();
}

Status read_workload(const Json& json, Workload* w) {
  FieldReader r(json, "workload");
  w->dtype = r.string("dtype");
  w->n = r.integer("n", 1, kMaxDimension);
  w->k = r.integer("k", 1, kMaxDimension);
  w->batch = r.integer("batch", 1, kMaxDimension);
  w->threads = static_cast<int>(r.integer("threads", 1, 1 << 20));
  return r.finish();
}

Status read_config(const Json& json, std::map<std::string, int64_t>* config) {
  FieldReader r(json, "config");
  for (const auto& [name, value] : json.members()) {
    (*config)[name] = r.integer(name.c_str(), -kMaxDimension, kMaxDimension);
  }
  return r.finish();
}

Status check_names(const Record& record) {
  if (record.generator.empty()) return error(StatusCode::kCorruptFile, "generator is empty");
  if (record.op.empty()) return error(StatusCode::kCorruptFile, "op is empty");
  if (record.workload.dtype.empty()) return error(StatusCode::kCorruptFile, "workload.dtype is empty");
  if (record.fingerprint != record.device.hash()) {
    return error(StatusCode::kCorruptFile, "fingerprint %s does not match the device fields (%s)",
                 record.fingerprint.c_str(), record.device.hash().c_str());
  }
  return Status();
}

}  // namespace

std::string record_to_json_line(const Record& record) {
  Json config = Json::object();
  for (const auto& [name, value] : record.config) config.set(name, Json::number(static_cast<double>(value)));
  Json j = Json::object();
  j.set("v", Json::number(kRecordVersion));
  j.set("generator", Json::string(record.generator));
  j.set("device", device_to_json(record.device));
  j.set("fingerprint", Json::string(record.fingerprint));
  j.set("op", Json::string(record.op));
  j.set("workload", workload_to_json(record.workload));
  j.set("config", std::move(config));
  j.set("canonical_name", Json::string(record.canonical_name));
  j.set("median_ns", Json::number(record.median_ns));
  j.set("default_ns", Json::number(record.default_ns));
  j.set("tried", Json::number(static_cast<double>(record.tried)));
  j.set("time", Json::string(record.time));
  return to_json(j);
}

Result<Record> record_from_json_line(std::string_view line) {
  JF_ASSIGN_OR_RETURN(const Json json, parse_json(line));
  const Json* version = json.find("v");
  if (version != nullptr && version->is_number() && version->as_number() != kRecordVersion) {
    return error(StatusCode::kUnsupported, "record version %g (this build reads %d)", version->as_number(),
                 kRecordVersion);
  }
  FieldReader r(json, "record");
  r.integer("v", kRecordVersion, kRecordVersion);
  Record record;
  record.generator = r.string("generator");
  const Json& device = r.object("device");
  record.fingerprint = r.string("fingerprint");
  record.op = r.string("op");
  const Json& workload = r.object("workload");
  const Json& config = r.object("config");
  record.canonical_name = r.string("canonical_name");
  record.median_ns = r.number("median_ns", 1e-3);
  record.default_ns = r.number("default_ns", 0);
  record.tried = r.integer("tried", 0, kMaxDimension);
  record.time = r.string("time");
  JF_RETURN_IF_ERROR(r.finish());  // top level first: its message is the most useful
  JF_RETURN_IF_ERROR(read_device(device, &record.device));
  JF_RETURN_IF_ERROR(read_workload(workload, &record.workload));
  JF_RETURN_IF_ERROR(read_config(config, &record.config));
  JF_RETURN_IF_ERROR(check_names(record));
  return record;
}

std::string iso8601_utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

Record new_record(std::string generator, std::string op, Workload workload, std::map<std::string, int64_t> config,
                  std::string canonical_name, double median_ns, double default_ns, int64_t tried) {
  Record record;
  record.generator = std::move(generator);
  record.device = current_device();
  record.fingerprint = record.device.hash();
  record.op = std::move(op);
  record.workload = std::move(workload);
  record.config = std::move(config);
  record.canonical_name = std::move(canonical_name);
  record.median_ns = median_ns;
  record.default_ns = default_ns;
  record.tried = tried;
  record.time = iso8601_utc_now();
  return record;
}

}  // namespace jf::kdb
