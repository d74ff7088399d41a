#include <gtest/gtest.h>

#include <filesystem>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include "kdb/kernel_db.h"

namespace jf::kdb {
namespace {

namespace fs = std::filesystem;

class KdbTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) / ("jf_kdb_" + std::string(testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const char* name) const { return (dir_ / name).string(); }

  static Record make_record(double median_ns, int64_t n = 4096, const char* generator = "g1") {
    Record r;
    r.generator = generator;
    r.device = DeviceFingerprint{"Test CPU", "avx2 fma", 32 << 10, 1 << 20, 32 << 20, 8};
    r.fingerprint = r.device.hash();
    r.op = "matvec";
    r.workload = {"q4_0", n, 4096, 1, 2};
    r.config = {{"row_tile", 4}, {"unroll", 2}};
    r.canonical_name = "q4_0-f32-matvec-n4k64-u2__avx2";
    r.median_ns = median_ns;
    r.default_ns = 2 * median_ns;
    r.tried = 12;
    r.time = "2025-01-31T12:00:00Z";
    return r;
  }

  static std::string read_text(const std::string& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  fs::path dir_;
};

TEST_F(KdbTest, RecordRoundTripsThroughJson) {
  const Record r = make_record(1234.5);
  const std::string line = record_to_json_line(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.rfind("{\"v\":1,\"generator\":\"g1\",\"device\":{", 0), 0u) << line;
  auto back = record_from_json_line(line);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(record_to_json_line(*back), line);
  EXPECT_EQ(back->workload, r.workload);
  EXPECT_EQ(back->config, r.config);
  EXPECT_EQ(back->median_ns, 1234.5);
}

TEST_F(KdbTest, RecordValidationNamesTheField) {
  std::string line = record_to_json_line(make_record(10));
  auto with = [&](const std::string& from, const std::string& to) {
    std::string changed = line;
    changed.replace(changed.find(from), from.size(), to);
    return record_from_json_line(changed);
  };
  auto fingerprint = with("\"n_cpus\":8", "\"n_cpus\":9");
  ASSERT_FALSE(fingerprint.ok());
  EXPECT_NE(fingerprint.status().message().find("does not match"), std::string::npos);
  auto negative = with("\"n\":4096", "\"n\":-1");
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.status().message().find("workload.n"), std::string::npos) << negative.status().message();
  auto unknown = with("\"tried\":12", "\"tried\":12,\"extra\":1");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("extra"), std::string::npos);
  auto version = with("\"v\":1", "\"v\":2");
  ASSERT_FALSE(version.ok());
  EXPECT_EQ(version.status().code(), StatusCode::kUnsupported);
  EXPECT_FALSE(with("\"median_ns\":10", "\"median_ns\":0").ok());
  EXPECT_FALSE(with("\"unroll\":2", "\"unroll\":2.5").ok());
  EXPECT_FALSE(with("\"op\":\"matvec\"", "\"op\":\"\"").ok());
}

TEST_F(KdbTest, MissingFileIsAnEmptyDatabase) {
  const KernelDb db = KernelDb::load(path("nowhere/kdb.jsonl"));
  EXPECT_TRUE(db.records().empty());
  EXPECT_EQ(db.n_skipped_lines(), 0);
  EXPECT_EQ(db.lookup("x", "g1", "matvec", Workload{}), nullptr);
}

TEST_F(KdbTest, AppendCreatesFoldersAndLoadReadsBack) {
  const std::string p = path("a/b/kdb.jsonl");
  KernelDb db = KernelDb::load(p);
  ASSERT_TRUE(db.append(make_record(100)).ok());
  ASSERT_TRUE(db.append(make_record(90, 8192)).ok());
  ASSERT_TRUE(db.append(make_record(100)).ok());  // duplicate: not written twice
  const KernelDb loaded = KernelDb::load(p);
  ASSERT_EQ(loaded.records().size(), 2u);
  EXPECT_EQ(record_to_json_line(loaded.records()[1]), record_to_json_line(make_record(90, 8192)));
}

TEST_F(KdbTest, AppendRejectsAnInvalidRecord) {
  KernelDb db = KernelDb::load(path("kdb.jsonl"));
  Record bad = make_record(100);
  bad.fingerprint = "0000000000000000";
  EXPECT_EQ(db.append(bad).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(path("kdb.jsonl")));
}

TEST_F(KdbTest, CorruptLinesAreSkippedAndTheRestKept) {
  const std::string p = path("kdb.jsonl");
  fs::create_directories(dir_);
  {
    std::ofstream out(p);
    out << record_to_json_line(make_record(100)) << "\n"
        << "{not json\n"
        << "\n"
        << record_to_json_line(make_record(50, 1)).substr(0, 40) << "\n"  // torn write
        << "{\"v\":1}\n"
        << std::string("\xff\xfe garbage") << "\n"
        << record_to_json_line(make_record(70, 2)) << "\r\n"
        << record_to_json_line(make_record(60, 3));  // no final newline
  }
  KernelDb db = KernelDb::load(p);
  EXPECT_EQ(db.records().size(), 3u);
  EXPECT_EQ(db.n_skipped_lines(), 4);
  // Appending after a line without its newline starts a new line.
  ASSERT_TRUE(db.append(make_record(40, 4)).ok());
  const KernelDb again = KernelDb::load(p);
  EXPECT_EQ(again.records().size(), 4u);
  EXPECT_EQ(again.n_skipped_lines(), 4);
}

TEST_F(KdbTest, BinaryGarbageFileIsAMiss) {
  const std::string p = path("kdb.jsonl");
  fs::create_directories(dir_);
  std::ofstream(p, std::ios::binary) << std::string("\0\x01\x02{{{[[[\"\n\n\0", 14);
  const KernelDb db = KernelDb::load(p);
  EXPECT_TRUE(db.records().empty());
}

TEST_F(KdbTest, LookupPicksTheFastestOfTheExactKey) {
  KernelDb db = KernelDb::load(path("kdb.jsonl"));
  ASSERT_TRUE(db.append(make_record(300)).ok());
  ASSERT_TRUE(db.append(make_record(100)).ok());
  ASSERT_TRUE(db.append(make_record(200)).ok());
  ASSERT_TRUE(db.append(make_record(10, 1024)).ok());  // another workload
  const Record r = make_record(0);
  const Record* best = db.lookup(r.fingerprint, "g1", "matvec", r.workload);
  ASSERT_NE(best, nullptr);
  EXPECT_EQ(best->median_ns, 100);
  Workload other_threads = r.workload;
  other_threads.threads = 4;
  EXPECT_EQ(db.lookup(r.fingerprint, "g1", "matvec", other_threads), nullptr);
  EXPECT_EQ(db.lookup(r.fingerprint, "g1", "matmul", r.workload), nullptr);
  EXPECT_EQ(db.lookup("ffffffffffffffff", "g1", "matvec", r.workload), nullptr);
}

TEST_F(KdbTest, StaleGeneratorIsAMiss) {
  KernelDb db = KernelDb::load(path("kdb.jsonl"));
  ASSERT_TRUE(db.append(make_record(100, 4096, "g1")).ok());
  const Record r = make_record(0);
  EXPECT_EQ(db.lookup(r.fingerprint, "g2", "matvec", r.workload), nullptr);
  EXPECT_NE(db.lookup(r.fingerprint, "g1", "matvec", r.workload), nullptr);
}

TEST_F(KdbTest, MergeDeduplicates) {
  KernelDb a = KernelDb::load(path("a.jsonl"));
  KernelDb b = KernelDb::load(path("b.jsonl"));
  ASSERT_TRUE(a.append(make_record(100)).ok());
  ASSERT_TRUE(a.append(make_record(200)).ok());
  ASSERT_TRUE(b.append(make_record(200)).ok());
  ASSERT_TRUE(b.append(make_record(300)).ok());
  KernelDb merged;
  EXPECT_EQ(merged.merge(KernelDb::load(path("a.jsonl"))), 2);
  EXPECT_EQ(merged.merge(KernelDb::load(path("b.jsonl"))), 1);
  auto written = merged.write_file(path("out/c.jsonl"));
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(*written, 3);
  EXPECT_EQ(KernelDb::load(path("out/c.jsonl")).records().size(), 3u);
}

TEST_F(KdbTest, ExportFiltersByFingerprintAndImportSkipsDuplicates) {
  KernelDb db = KernelDb::load(path("kdb.jsonl"));
  Record other = make_record(100);
  other.device.cpu_model = "Other CPU";
  other.fingerprint = other.device.hash();
  ASSERT_TRUE(db.append(make_record(100)).ok());
  ASSERT_TRUE(db.append(other).ok());
  auto exported = db.write_file(path("export.jsonl"), make_record(0).fingerprint);
  ASSERT_TRUE(exported.ok());
  EXPECT_EQ(*exported, 1);

  KernelDb target = KernelDb::load(path("target.jsonl"));
  ASSERT_TRUE(target.append(make_record(100)).ok());
  KernelDb incoming = KernelDb::load(path("kdb.jsonl"));
  auto imported = target.import_from(incoming);
  ASSERT_TRUE(imported.ok());
  EXPECT_EQ(*imported, 1);
  EXPECT_EQ(KernelDb::load(path("target.jsonl")).records().size(), 2u);
  EXPECT_EQ(*target.import_from(incoming), 0);
}

TEST_F(KdbTest, FingerprintIsStable) {
  EXPECT_EQ(current_device().hash(), current_device().hash());
  EXPECT_EQ(current_device().hash().size(), 16u);
  const DeviceFingerprint a{"CPU", "avx2", 1, 2, 3, 4};
  DeviceFingerprint b = a;
  EXPECT_EQ(a.hash(), b.hash());
  EXPECT_EQ(a.hash(), "7abb42fdc7e8ca79") << "the hash function changed: every stored kdb would miss";
  b.features = "avx2 fma";
  EXPECT_NE(a.hash(), b.hash());
  const DeviceFingerprint c{"CP", "Uavx2", 1, 2, 3, 4};  // same concatenation, other fields
  EXPECT_NE(a.hash(), c.hash());
}

TEST_F(KdbTest, DefaultPathHonoursTheEnvironment) {
  auto saved = [](const char* name) { const char* v = std::getenv(name); return v ? std::optional<std::string>(v) : std::nullopt; };
  auto restore = [](const char* name, const std::optional<std::string>& v) {
    if (v) setenv(name, v->c_str(), 1);
    else unsetenv(name);
  };
  const auto kdb_env = saved("JITFLOW_KDB"), home_env = saved("HOME");
  setenv("JITFLOW_KDB", "/tmp/x/kdb.jsonl", 1);
  EXPECT_EQ(KernelDb::default_path(), "/tmp/x/kdb.jsonl");
  unsetenv("JITFLOW_KDB");
  setenv("HOME", "/home/someone", 1);
  EXPECT_EQ(KernelDb::default_path(), "/home/someone/.cache/jitflow/kdb.jsonl");
  restore("JITFLOW_KDB", kdb_env);
  restore("HOME", home_env);
}

}  // namespace
}  // namespace jf::kdb
