// Streaming a flash-layout model's linears from its file (flash/flash_store.h, EngineOptions::
// memory_budget): the logits and tokens are exactly those of the same model in memory, dense and
// sparse, for every group size; a budget too small, or a model not in the flash layout, is refused
// with what it needs; a failed read stops the forward pass with an error naming the file and the
// tensor, and nothing is ever written to the model file.
#include "flash/flash_store.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <numeric>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "convert.h"
#include "jitflow/engine.h"
#include "model/sparsity.h"
#include "model/transformer.h"
#include "runtime/kernel_select.h"
#include "synth.h"
#include "synth_model.h"
#include "test_env.h"
#include "test_model.h"
#include "test_paths.h"

namespace jf {
namespace {

constexpr uint64_t kAmpleBudget = uint64_t{1} << 30;

// test-tiny with five layers, `type`, written to `name`; then its channel-major conversion.
struct Models {
  std::string rows, channel_major;
};
Models synth_models(synth::FileType type, const std::string& name) {
  const Models m{test::write_test_tiny(type, name + ".gguf", 5), test::temp_path(name + "-cm.gguf")};
  EXPECT_TRUE(convert::channel_major(m.rows, m.channel_major, std::nullopt).ok());
  return m;
}

std::string flash_of(const std::string& channel_major, int group) {
  const std::string out = channel_major + ".flash" + std::to_string(group) + ".gguf";
  const Result<convert::Summary> s = convert::flash(channel_major, out, group, std::nullopt);
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  return out;
}

// The logits of a prompt and of each of `decode` greedy tokens after it, and those tokens.
struct Generated {
  std::vector<float> logits;
  std::vector<int32_t> tokens;
  StreamingStats stats;
};
Result<std::unique_ptr<Engine>> load(const std::string& path, uint64_t budget, bool preload = true) {
  EngineOptions options;
  options.n_threads = 2;
  options.n_ctx = 64;
  options.memory_budget = budget;
  options.flash_preload = preload;
  return Engine::load(path, options);
}

Generated run(const std::string& path, uint64_t budget, double sparsity, int decode = 4, bool preload = true) {
  auto engine = load(path, budget, preload);
  EXPECT_TRUE(engine.ok()) << engine.status().to_string();
  if (!engine.ok()) return {};
  SparsityOptions sparse;
  sparse.level = static_cast<float>(sparsity);
  auto session = (*engine)->new_session(sparse);
  EXPECT_TRUE(session.ok()) << session.status().to_string();
  if (!session.ok()) return {};
  Generated r;
  std::vector<int32_t> next = {1, 17, 42, 99};
  for (int i = 0; i <= decode; ++i) {
    auto logits = (*session)->eval(next);
    EXPECT_TRUE(logits.ok()) << logits.status().to_string();
    if (!logits.ok()) return r;
    r.logits.insert(r.logits.end(), logits->begin(), logits->end());
    const auto best = std::max_element(logits->begin(), logits->end()) - logits->begin();
    r.tokens.push_back(static_cast<int32_t>(best));
    next = {static_cast<int32_t>(best)};
  }
  r.stats = (*engine)->streaming_stats();
  return r;
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The least budget the model streams under (no hot-weight cache), from what an ample one holds, and
// a budget whose cache holds half of what the ample one's does.
uint64_t least_budget(const std::string& flash) {
  const Generated ample = run(flash, kAmpleBudget, 0.0, 0);
  return ample.stats.memory_bytes - ample.stats.cache_bytes;
}
uint64_t half_cache_budget(const std::string& flash) {
  const Generated ample = run(flash, kAmpleBudget, 0.0, 0);
  return ample.stats.memory_bytes - ample.stats.cache_bytes / 2;
}

// At every budget, from no cache to one holding every channel: the in-memory logits and tokens.
TEST(FlashStreaming, LogitsAndTokensAreThoseInMemory) {
  for (const synth::FileType type : {synth::FileType::kQ8_0, synth::FileType::kQ4_0}) {
    const Models m = synth_models(type, type == synth::FileType::kQ8_0 ? "q8" : "q4");
    for (const double sparsity : {0.0, 0.5}) {
      const Generated memory = run(m.channel_major, 0, sparsity);
      ASSERT_FALSE(memory.logits.empty());
      EXPECT_FALSE(memory.stats.streaming);
      for (const int group : {1, 2, 5}) {
        const std::string flash = flash_of(m.channel_major, group);
        const std::string before = file_bytes(flash);
        const uint64_t least = least_budget(flash);
        for (const uint64_t budget : {least, half_cache_budget(flash), kAmpleBudget}) {
          const Generated streamed = run(flash, budget, sparsity);
          const std::string what = "group " + std::to_string(group) + ", sparsity " +
                                   std::to_string(sparsity) + ", budget " + std::to_string(budget);
          EXPECT_EQ(streamed.tokens, memory.tokens) << what;
          EXPECT_EQ(streamed.logits, memory.logits) << what;
          const StreamingStats& s = streamed.stats;
          EXPECT_TRUE(s.streaming);
          EXPECT_LE(s.memory_bytes, budget) << what;
          EXPECT_GT(s.bytes_read, 0u) << what;
          EXPECT_EQ(s.cache_hits + s.buffer_hits + s.on_demand, s.channels_asked) << what;
          EXPECT_TRUE(s.preloading);
          EXPECT_LE(s.preload_used, s.preloaded) << what;
          // Groups of 1 and 2 of five layers have a next group to preload while they decode sparse
          // (dense, the group computing fills the buffer).
          if (group < 5 && sparsity > 0 && budget == least) {
            EXPECT_GT(s.preload_used, 0u) << what;
          }
          EXPECT_EQ(s.cache_bytes > 0, budget > least) << what;
          // An ample cache keeps every channel read after the first token's pass.
          if (budget == kAmpleBudget) {
            EXPECT_GT(s.cache_hits, s.channels_asked / 2) << what;
          }
        }
        EXPECT_EQ(file_bytes(flash), before) << "group " << group << ": the model file changed";
      }
    }
  }
}

// docs-28M, real learned weights (Q8_0 channel-major, groups of 4): streamed at the least budget,
// with preloading and without, and with a cache, dense and sparse, its logits and tokens are those in
// memory exactly.
TEST(FlashStreaming, Docs28MStreamedIsTheModelInMemory) {
  JF_REQUIRE_SHARED("models/docs-28M.gguf");
  const std::string cm = test::temp_path("docs-28M-cm.gguf");
  ASSERT_TRUE(convert::channel_major(test::shared_path("models/docs-28M.gguf"), cm, DType::Q8_0).ok());
  const std::string flash = flash_of(cm, 4);
  const uint64_t least = least_budget(flash);
  for (const double sparsity : {0.0, 0.5}) {
    const Generated memory = run(cm, 0, sparsity, 3);
    ASSERT_FALSE(memory.logits.empty());
    for (const uint64_t budget : {least, least + (uint64_t{8} << 20)}) {
      for (const bool preload : {true, false}) {
        const Generated streamed = run(flash, budget, sparsity, 3, preload);
        const std::string what = "sparsity " + std::to_string(sparsity) + ", budget " + std::to_string(budget) +
                                 (preload ? ", preloading" : ", no preload");
        EXPECT_EQ(streamed.tokens, memory.tokens) << what;
        EXPECT_EQ(streamed.logits, memory.logits) << what;
        EXPECT_EQ(streamed.stats.preloading, preload) << what;
        EXPECT_LE(streamed.stats.memory_bytes, budget) << what;
      }
    }
  }
}

// A mixture of experts (test-tiny-moe8 with four layers: 8 experts, top-2), converted to the flash
// layout from the stacked and from the split expert layout: streamed at every group size, dense and
// sparse, at the least budget and an ample one, the logits and tokens are those of the model in
// memory; only routed experts are read, and the experts routed to at a group's last layer are
// preloaded for the next.
TEST(FlashStreaming, ExpertsStreamedAreTheModelInMemory) {
  const auto moe_flash = [](bool split, int group) {
    synth::Options options;
    options.shape = *synth::find_shape("test-tiny-moe8");
    options.shape.n_layer = 4;
    options.type = synth::FileType::kQ8_0;
    options.split_experts = split;
    options.n_threads = 2;
    const std::string tag = split ? "moe8-split" : "moe8";
    const std::string rows = test::write_synth_model(options, tag + ".gguf");
    const std::string out = test::temp_path(tag + "-flash" + std::to_string(group) + ".gguf");
    const Result<convert::Summary> s = convert::flash(rows, out, group, std::nullopt);
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    if (s.ok()) {
      EXPECT_EQ(s->n_converted, 4 * (4 + 8 * 3));  // per layer: q, k, v, o and 8 experts' three
    }
    return out;
  };
  const std::string g1 = moe_flash(false, 1);
  for (const double sparsity : {0.0, 0.5}) {
    const Generated memory = run(g1, 0, sparsity);
    ASSERT_FALSE(memory.logits.empty());
    for (const auto& [split, group] :
         {std::pair{false, 1}, std::pair{false, 2}, std::pair{true, 2}, std::pair{false, 4}}) {
      const std::string flash = group == 1 ? g1 : moe_flash(split, group);
      for (const uint64_t budget : {least_budget(flash), kAmpleBudget}) {
        const Generated streamed = run(flash, budget, sparsity);
        const std::string what = std::string(split ? "split" : "stacked") + ", group " +
                                 std::to_string(group) + ", sparsity " + std::to_string(sparsity) +
                                 ", budget " + std::to_string(budget);
        EXPECT_EQ(streamed.tokens, memory.tokens) << what;
        EXPECT_EQ(streamed.logits, memory.logits) << what;
        const StreamingStats& s = streamed.stats;
        EXPECT_LE(s.memory_bytes, budget) << what;
        // Per layer, the prompt's 4 tokens route to at most all 8 experts, each decode token to 2 (of
        // 3 matrices each).
        EXPECT_GT(s.expert_groups, 0u) << what;
        EXPECT_LE(s.expert_groups, 4u * 3 * (8 + 4 * 2)) << what;
        EXPECT_LE(s.expert_preloads_used, s.expert_preloads) << what;
        EXPECT_EQ(s.expert_preloads > 0, group < 4) << what;  // a group of all 4 layers has no next one
        // The next layer's router on the state entering it predicts better than chance (2 of 8; it
        // measured about half here, on random weights).
        if (group == 1) {
          EXPECT_GT(s.expert_preloads_used, s.expert_preloads / 3) << what;
        }
      }
    }
  }
}

TEST(FlashStreaming, BudgetsThatCannotWorkAreRefused) {
  const Models m = synth_models(synth::FileType::kQ8_0, "refused");
  const std::string flash = flash_of(m.channel_major, 2);
  const auto small = load(flash, 64 << 10);
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(small.status().message().find("is below the"), std::string::npos) << small.status().message();
  EXPECT_NE(small.status().message().find("group buffers"), std::string::npos) << small.status().message();

  const auto not_flash = load(m.channel_major, kAmpleBudget);
  ASSERT_FALSE(not_flash.ok());
  EXPECT_EQ(not_flash.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(not_flash.status().message().find("convert --flash"), std::string::npos)
      << not_flash.status().message();
}

// The budget changes while a sequence runs (Session::set_memory_budget, jitflow run --mem-schedule):
// the cache is resized and the logits stay those in memory; a budget below the need, or one for a
// model held in memory, is refused.
TEST(FlashStreaming, BudgetChangesWhileRunningKeepTheLogits) {
  const Models m = synth_models(synth::FileType::kQ8_0, "resized");
  const std::string flash = flash_of(m.channel_major, 2);
  const uint64_t least = least_budget(flash);
  const Generated memory = run(m.channel_major, 0, 0.5, 6);
  auto engine = load(flash, kAmpleBudget);
  ASSERT_TRUE(engine.ok()) << engine.status().to_string();
  SparsityOptions sparse;
  sparse.level = 0.5f;
  auto session = (*engine)->new_session(sparse);
  ASSERT_TRUE(session.ok());
  const uint64_t budgets[] = {kAmpleBudget, least, least + (256 << 10), least + (64 << 10),
                              kAmpleBudget, least, least + (1 << 20)};
  std::vector<float> logits;
  std::vector<int32_t> next = {1, 17, 42, 99};
  for (const uint64_t budget : budgets) {
    ASSERT_TRUE((*session)->set_memory_budget(budget).ok()) << budget;
    EXPECT_LE((*engine)->streaming_stats().memory_bytes, budget);
    auto out = (*session)->eval(next);
    ASSERT_TRUE(out.ok()) << out.status().to_string();
    logits.insert(logits.end(), out->begin(), out->end());
    next = {static_cast<int32_t>(std::max_element(out->begin(), out->end()) - out->begin())};
  }
  EXPECT_EQ(logits, memory.logits);

  const Status small = (*session)->set_memory_budget(least - 1);
  EXPECT_EQ(small.code(), StatusCode::kOutOfRange);
  EXPECT_NE(small.message().find("is below the"), std::string::npos) << small.message();
  auto resident = load(m.channel_major, 0);
  ASSERT_TRUE(resident.ok());
  EXPECT_EQ((*resident)->new_session()->set_memory_budget(kAmpleBudget).code(), StatusCode::kInvalidArgument);
}

// Fails every read from the n-th on, like a disk that went away.
class FailingSource final : public ByteSource {
 public:
  // Reads number fail_from .. fail_from + n_failing - 1 (from 1) fail.
  FailingSource(std::unique_ptr<ByteSource> inner, int fail_from, int n_failing)
      : inner_(std::move(inner)), fail_from_(fail_from), n_failing_(n_failing) {}
  uint64_t size() const override { return inner_->size(); }
  const std::string& name() const override { return inner_->name(); }
  Status read_at(uint64_t offset, void* dst, size_t n) const override {
    ++reads_;
    if (reads_ >= fail_from_ && reads_ < fail_from_ + n_failing_) {
      return error(StatusCode::kIoError, "%s: injected read failure", name().c_str());
    }
    return inner_->read_at(offset, dst, n);
  }

 private:
  std::unique_ptr<ByteSource> inner_;
  int fail_from_, n_failing_;
  mutable int reads_ = 0;
};

// A flash file's streamed weights and their store, opened below the Engine; `wrap` may put a test's
// source around the file's on-demand source, `wrap_preload` around the loader's (absent: no
// preloading). Heap-held: the store points into `weights`.
struct Streamed {
  ModelConfig config;
  ModelWeights weights;
  std::unique_ptr<FlashStore> store;
};
using Wrap = std::function<std::unique_ptr<ByteSource>(std::unique_ptr<ByteSource>)>;
std::unique_ptr<ByteSource> source_of(const std::string& flash, const Wrap& wrap) {
  Result<std::unique_ptr<ByteSource>> source = open_direct_file_source(flash);
  EXPECT_TRUE(source.ok()) << source.status().to_string();
  if (!source.ok()) return nullptr;
  return wrap ? wrap(std::move(*source)) : std::move(*source);
}
const Wrap kAsIs = [](std::unique_ptr<ByteSource> source) { return source; };
std::unique_ptr<Streamed> open_streamed(const std::string& flash, const Wrap& wrap = nullptr,
                                        const Wrap& wrap_preload = nullptr) {
  auto s = std::make_unique<Streamed>();
  Result<GgufFile> file = GgufFile::open_path(flash);
  EXPECT_TRUE(file.ok()) << file.status().to_string();
  if (!file.ok()) return nullptr;
  Result<ModelConfig> config = read_model_config(*file);
  EXPECT_TRUE(config.ok()) << config.status().to_string();
  if (!config.ok()) return nullptr;
  s->config = *config;
  Result<ModelWeights> weights = load_weights(*file, s->config, FlashLinears::streamed);
  EXPECT_TRUE(weights.ok()) << weights.status().to_string();
  if (!weights.ok()) return nullptr;
  s->weights = std::move(*weights);
  Result<std::unique_ptr<FlashStore>> store =
      FlashStore::open(*file, s->config, s->weights, source_of(flash, wrap),
                       wrap_preload ? source_of(flash, wrap_preload) : nullptr);
  EXPECT_TRUE(store.ok()) << store.status().to_string();
  if (!store.ok()) return nullptr;
  s->store = std::move(*store);
  return s;
}

TEST(FlashStreaming, AFailedReadStopsTheForwardPassNamingFileAndTensor) {
  const Models m = synth_models(synth::FileType::kQ8_0, "failing");
  const std::string flash = flash_of(m.channel_major, 2);
  const auto streamed = open_streamed(flash, [](std::unique_ptr<ByteSource> file) {
    return std::make_unique<FailingSource>(std::move(file), 3, 2);
  });
  ASSERT_NE(streamed, nullptr);
  ASSERT_TRUE(streamed->store->set_cache_bytes(kAmpleBudget).ok());
  EXPECT_FALSE(streamed->weights.layers[0].q.weight.present());  // streamed: no data in DRAM
  ThreadPool pool(2);
  KernelSelector kernels;
  Transformer transformer(streamed->config, *streamed->store, 32, pool, kernels);
  const std::vector<TokenId> prompt = {1, 17, 42};
  const Result<const float*> failed = transformer.forward(prompt, false);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kIoError);
  EXPECT_NE(failed.status().message().find(flash), std::string::npos) << failed.status().message();
  EXPECT_NE(failed.status().message().find(".flash"), std::string::npos) << failed.status().message();
  EXPECT_NE(failed.status().message().find("injected"), std::string::npos) << failed.status().message();
  EXPECT_EQ(transformer.n_past(), 0);
  EXPECT_FALSE(transformer.forward(prompt, false).ok());  // the second failing read

  // Once the reads succeed again, nothing the failed reads were to fill is used (or cached): the
  // logits are those in memory.
  const Result<const float*> recovered = transformer.forward(prompt, false);
  ASSERT_TRUE(recovered.ok()) << recovered.status().to_string();
  const std::vector<float> got(*recovered, *recovered + streamed->config.n_vocab);
  const test::LoadedModel resident = test::load_model(m.channel_major);
  ResidentWeightProvider provider(resident.weights);
  Transformer in_memory(resident.config, provider, 32, pool, kernels);
  const Result<const float*> want = in_memory.forward(prompt, false);
  ASSERT_TRUE(want.ok());
  EXPECT_EQ(got, std::vector<float>(*want, *want + resident.config.n_vocab));
  const Result<const float*> again = transformer.forward(prompt, false);  // through the cache
  ASSERT_TRUE(again.ok());
  const Result<const float*> want_again = in_memory.forward(prompt, false);
  ASSERT_TRUE(want_again.ok());
  EXPECT_EQ(std::vector<float>(*again, *again + streamed->config.n_vocab),
            std::vector<float>(*want_again, *want_again + resident.config.n_vocab));
}

// The loader thread's reads fail for a while: the forward pass that waits for them stops with an
// error naming the file and the tensor, the one after it reads again, and every token's logits are
// those in memory at the same sparsity.
TEST(FlashStreaming, AFailedPreloadStopsTheForwardPassAndTheNextRecovers) {
  const Models m = synth_models(synth::FileType::kQ8_0, "failing-preload");
  const std::string flash = flash_of(m.channel_major, 1);
  const auto streamed = open_streamed(flash, kAsIs, [](std::unique_ptr<ByteSource> file) {
    return std::make_unique<FailingSource>(std::move(file), 6, 3);
  });
  ASSERT_NE(streamed, nullptr);
  ASSERT_TRUE(streamed->store->preloading());
  ThreadPool pool(2);
  KernelSelector kernels;
  Sparsifier sparse = Sparsifier::topk(0.5f), sparse_in_memory = Sparsifier::topk(0.5f);
  Transformer transformer(streamed->config, *streamed->store, 32, pool, kernels);
  transformer.set_activation_sites(&sparse);
  const test::LoadedModel resident = test::load_model(m.channel_major);
  ResidentWeightProvider provider(resident.weights);
  Transformer in_memory(resident.config, provider, 32, pool, kernels);
  in_memory.set_activation_sites(&sparse_in_memory);

  const std::vector<TokenId> prompt = {1, 17, 42};
  ASSERT_TRUE(transformer.forward(prompt, false).ok());
  ASSERT_TRUE(in_memory.forward(prompt, false).ok());
  int failures = 0;
  for (TokenId token = 5; token < 15; ++token) {
    const std::vector<TokenId> one = {token};
    Result<const float*> got = transformer.forward(one, false);
    if (!got.ok()) {
      ++failures;
      EXPECT_EQ(got.status().code(), StatusCode::kIoError);
      EXPECT_NE(got.status().message().find("preloading"), std::string::npos) << got.status().message();
      EXPECT_NE(got.status().message().find(flash), std::string::npos) << got.status().message();
      EXPECT_NE(got.status().message().find(".flash"), std::string::npos) << got.status().message();
      EXPECT_NE(got.status().message().find("injected"), std::string::npos) << got.status().message();
      got = transformer.forward(one, false);
      ASSERT_TRUE(got.ok()) << "the failures were over: " << got.status().to_string();
    }
    const Result<const float*> want = in_memory.forward(one, false);
    ASSERT_TRUE(want.ok());
    ASSERT_EQ(std::vector<float>(*got, *got + streamed->config.n_vocab),
              std::vector<float>(*want, *want + resident.config.n_vocab))
        << "token " << token;
  }
  EXPECT_EQ(failures, 1) << "the three failing reads are of one forward pass's preloads";
  EXPECT_GT(streamed->store->stats().preload_used, 0u);
}

// The store driven directly: every address fetch returns holds the channel's bytes (those of the
// channel-major model), whatever the layers of a group ask for, in whatever order the channels
// arrive in its buffer: reads merged across gaps that hold channels read before included.
TEST(FlashStreaming, FetchedChannelsHoldTheirBytes) {
  const Models m = synth_models(synth::FileType::kQ8_0, "fetch");
  const std::string flash = flash_of(m.channel_major, 2);
  const test::LoadedModel want = test::load_model(m.channel_major);
  const auto streamed = open_streamed(flash);
  ASSERT_NE(streamed, nullptr);
  FlashStore& store = *streamed->store;
  // attn_q has 256 channels of 272 bytes (Q8_0, 256 outputs); a group run of 2 layers is 544 bytes,
  // so with a merge gap of 16 KiB reads up to 30 channels apart merge (and the cache keeps chunks of
  // 32, which only a group that read them whole offers). Layer 0 reads every 32nd channel alone;
  // layer 1's reads merge across all of them: each is in the buffer once, or the buffer overflows.
  // The second pass reads every channel at layer 0, so the third finds chunks in the cache.
  ASSERT_TRUE(store.set_merge_gap(16 << 10).ok());
  ASSERT_TRUE(store.set_cache_bytes(512 << 10).ok());
  std::vector<int32_t> every_32nd, spread = {1};
  for (int32_t j = 0; j < 256; j += 32) every_32nd.push_back(j);
  for (int32_t j = 30; j < 256; j += 30) spread.push_back(j);
  spread.push_back(255);
  std::vector<int32_t> all(256);
  std::iota(all.begin(), all.end(), 0);
  const std::vector<std::vector<int32_t>> asks[2] = {{every_32nd, {3, 4, 5}}, {spread, every_32nd, {2, 100}}};
  for (int pass = 0; pass < 3; ++pass) {
    store.acquire(0);  // a forward pass begins
    for (int layer = 0; layer < 2; ++layer) {
      const bool dense = pass == 1 && layer == 0;
      for (const std::vector<int32_t>& channels : dense ? std::vector<std::vector<int32_t>>{all} : asks[layer]) {
        const LinearWeight& q = streamed->weights.layers[layer].q;
        ASSERT_NE(q.streamed, nullptr);
        const auto at = q.streamed->fetch(channels);
        ASSERT_TRUE(at.ok()) << at.status().to_string();
        const TensorView& resident = want.weights.layers[layer].q.weight;
        const size_t bytes = channel_bytes(resident.dtype, resident.n_rows);
        for (size_t i = 0; i < channels.size(); ++i) {
          EXPECT_EQ(std::memcmp((*at)[i], resident.channel(channels[i]), bytes), 0)
              << "pass " << pass << ", layer " << layer << ", channel " << channels[i];
        }
      }
    }
  }
  EXPECT_GT(store.stats().cache_hits, 0u);
}

TEST(FlashStreaming, AFileCutShortWhileStreamingIsAReadError) {
  const Models m = synth_models(synth::FileType::kQ8_0, "cut");
  const std::string flash = flash_of(m.channel_major, 5);
  auto engine = load(flash, kAmpleBudget);
  ASSERT_TRUE(engine.ok()) << engine.status().to_string();
  std::filesystem::resize_file(flash, std::filesystem::file_size(flash) / 2);
  auto session = (*engine)->new_session();
  const std::vector<int32_t> prompt = {1, 17};
  const auto logits = session->eval(prompt);
  ASSERT_FALSE(logits.ok());
  EXPECT_NE(logits.status().message().find(flash), std::string::npos) << logits.status().message();
}

}  // namespace
}  // namespace jf
