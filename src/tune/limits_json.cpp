#include "tune/limits_json.h"

#include <string_view>

namespace jf::tune {
namespace {

constexpr Source kSources[] = {Source::kUnknown, Source::kMeasured, Source::kSysfs, Source::kDetected};

template <typename T>
Json limit_json(const Limit<T>& limit) {
  Json j = Json::object();
  j.set("value", limit.known() ? Json::number(static_cast<double>(limit.value)) : Json());
  j.set("source", Json::string(source_name(limit.source)));
  return j;
}

Status bad_field(std::string_view name) {
  return error(StatusCode::kCorruptFile, "device limits: field %.*s is missing or of the wrong type",
               static_cast<int>(name.size()), name.data());
}

// The number at `key` of `object`, or `fallback` when absent; an error when of another type.
Result<double> number_at(const Json& object, std::string_view key, double fallback = 0) {
  const Json* j = object.find(key);
  if (j == nullptr || j->is_null()) return fallback;
  if (!j->is_number()) return bad_field(key);
  return j->as_number();
}

template <typename T>
Status read_limit(const Json& limits, std::string_view key, Limit<T>* out) {
  const Json* j = limits.find(key);
  if (j == nullptr) return Status();  // unknown
  const Json* source = j->is_object() ? j->find("source") : nullptr;
  if (source == nullptr || !source->is_string()) return bad_field(key);
  bool found = false;
  for (Source s : kSources) {
    if (source->as_string() == source_name(s)) {
      out->source = s;
      found = true;
    }
  }
  if (!found)
    return error(StatusCode::kCorruptFile, "device limits: %.*s has unknown source '%s'",
                 static_cast<int>(key.size()), key.data(), source->as_string().c_str());
  JF_ASSIGN_OR_RETURN(const double value, number_at(*j, "value"));
  out->value = static_cast<T>(value);
  return Status();
}

Result<RegisterSweep> sweep_from_json(const Json& j) {
  if (!j.is_object()) return bad_field("register_sweeps[]");
  RegisterSweep sweep;
  const Json* isa = j.find("isa");
  if (isa == nullptr || !isa->is_string()) return bad_field("register_sweeps[].isa");
  sweep.isa = isa->as_string();
  JF_ASSIGN_OR_RETURN(const double bits, number_at(j, "vector_bits"));
  JF_ASSIGN_OR_RETURN(const double registers, number_at(j, "isa_registers"));
  JF_ASSIGN_OR_RETURN(const double knee, number_at(j, "knee"));
  sweep.vector_bits = static_cast<int>(bits);
  sweep.isa_registers = static_cast<int>(registers);
  sweep.knee = static_cast<int>(knee);
  if (const Json* points = j.find("points"); points != nullptr && points->is_array()) {
    for (const Json& p : points->items()) {
      JF_ASSIGN_OR_RETURN(const double n, number_at(p, "n_accumulators"));
      JF_ASSIGN_OR_RETURN(const double ns, number_at(p, "ns_per_op"));
      sweep.points.push_back({static_cast<int>(n), ns});
    }
  }
  return sweep;
}

}  // namespace

Json device_limits_json(const DeviceLimits& limits) {
  Json boundaries = Json::array();
  for (uint64_t b : limits.latency_boundaries) boundaries.push_back(Json::number(static_cast<double>(b)));
  Json sweeps = Json::array();
  for (const RegisterSweep& sweep : limits.register_sweeps) {
    Json points = Json::array();
    for (const SweepPoint& p : sweep.points) {
      points.push_back(Json::object()
                           .set("n_accumulators", Json::number(p.n_accumulators))
                           .set("ns_per_op", Json::number(p.ns_per_op)));
    }
    sweeps.push_back(Json::object()
                         .set("isa", Json::string(sweep.isa))
                         .set("vector_bits", Json::number(sweep.vector_bits))
                         .set("isa_registers", Json::number(sweep.isa_registers))
                         .set("knee", Json::number(sweep.knee))
                         .set("points", std::move(points)));
  }
  Json curve = Json::array();
  for (const LatencyPoint& p : limits.latency_curve) {
    curve.push_back(Json::object()
                        .set("working_set_bytes", Json::number(static_cast<double>(p.working_set_bytes)))
                        .set("ns_per_load", Json::number(p.ns_per_load)));
  }
  Json out = Json::object();
  out.set("elapsed_ms", Json::number(limits.elapsed_ms));
  out.set("limits",
          Json::object()
              .set("vector_registers", limit_json(limits.vector_registers))
              .set("vector_bits", limit_json(limits.vector_bits))
              .set("l1d_bytes", limit_json(limits.l1d_bytes))
              .set("l2_bytes", limit_json(limits.l2_bytes))
              .set("llc_bytes", limit_json(limits.llc_bytes))
              .set("dram_bandwidth_one_thread_gbps", limit_json(limits.dram_bandwidth_one_thread_gbps))
              .set("dram_bandwidth_all_threads_gbps", limit_json(limits.dram_bandwidth_all_threads_gbps))
              .set("n_cores", limit_json(limits.n_cores)));
  out.set("sysfs", Json::object()
                       .set("l1d_bytes", Json::number(static_cast<double>(limits.sysfs.l1d_bytes)))
                       .set("l2_bytes", Json::number(static_cast<double>(limits.sysfs.l2_bytes)))
                       .set("l3_bytes", Json::number(static_cast<double>(limits.sysfs.l3_bytes))));
  out.set("latency_boundaries_bytes", std::move(boundaries));
  out.set("register_sweeps", std::move(sweeps));
  out.set("latency_curve", std::move(curve));
  return out;
}

Result<DeviceLimits> device_limits_from_json(const Json& json) {
  const Json* limits = json.find("limits");
  if (!json.is_object() || limits == nullptr || !limits->is_object()) return bad_field("limits");
  DeviceLimits out;
  JF_ASSIGN_OR_RETURN(out.elapsed_ms, number_at(json, "elapsed_ms"));
  JF_RETURN_IF_ERROR(read_limit(*limits, "vector_registers", &out.vector_registers));
  JF_RETURN_IF_ERROR(read_limit(*limits, "vector_bits", &out.vector_bits));
  JF_RETURN_IF_ERROR(read_limit(*limits, "l1d_bytes", &out.l1d_bytes));
  JF_RETURN_IF_ERROR(read_limit(*limits, "l2_bytes", &out.l2_bytes));
  JF_RETURN_IF_ERROR(read_limit(*limits, "llc_bytes", &out.llc_bytes));
  JF_RETURN_IF_ERROR(
      read_limit(*limits, "dram_bandwidth_one_thread_gbps", &out.dram_bandwidth_one_thread_gbps));
  JF_RETURN_IF_ERROR(
      read_limit(*limits, "dram_bandwidth_all_threads_gbps", &out.dram_bandwidth_all_threads_gbps));
  JF_RETURN_IF_ERROR(read_limit(*limits, "n_cores", &out.n_cores));
  if (const Json* sysfs = json.find("sysfs"); sysfs != nullptr) {
    JF_ASSIGN_OR_RETURN(const double l1d, number_at(*sysfs, "l1d_bytes"));
    JF_ASSIGN_OR_RETURN(const double l2, number_at(*sysfs, "l2_bytes"));
    JF_ASSIGN_OR_RETURN(const double l3, number_at(*sysfs, "l3_bytes"));
    out.sysfs = {static_cast<uint64_t>(l1d), static_cast<uint64_t>(l2), static_cast<uint64_t>(l3)};
  }
  if (const Json* b = json.find("latency_boundaries_bytes"); b != nullptr && b->is_array()) {
    for (const Json& v : b->items()) {
      if (!v.is_number()) return bad_field("latency_boundaries_bytes[]");
      out.latency_boundaries.push_back(static_cast<uint64_t>(v.as_number()));
    }
  }
  if (const Json* sweeps = json.find("register_sweeps"); sweeps != nullptr && sweeps->is_array()) {
    for (const Json& s : sweeps->items()) {
      JF_ASSIGN_OR_RETURN(RegisterSweep sweep, sweep_from_json(s));
      out.register_sweeps.push_back(std::move(sweep));
    }
  }
  if (const Json* curve = json.find("latency_curve"); curve != nullptr && curve->is_array()) {
    for (const Json& p : curve->items()) {
      JF_ASSIGN_OR_RETURN(const double bytes, number_at(p, "working_set_bytes"));
      JF_ASSIGN_OR_RETURN(const double ns, number_at(p, "ns_per_load"));
      out.latency_curve.push_back({static_cast<uint64_t>(bytes), ns});
    }
  }
  return out;
}

}  // namespace jf::tune
