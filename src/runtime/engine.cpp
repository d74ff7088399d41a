// Engine and Session: the model, its tokenizer and the thread pool, wired behind the public API.
#include "jitflow/engine.h"

#include <cmath>

#include "base/clock.h"
#include "base/cpu_features.h"
#include "base/log.h"
#include "base/thread_pool.h"
#include "gguf/gguf.h"
#include "io/byte_source.h"
#include "kdb/kernel_db.h"
#include "model/encoder.h"
#include "model/flash_layout.h"
#include "model/hparams.h"
#include "model/sparsity.h"
#include "model/thresholds.h"
#include "model/sampler.h"
#include "model/tokenizer/tokenizer.h"
#include "model/transformer.h"
#include "model/weight_provider.h"
#include "model/weights.h"
#include "runtime/embed_tokens.h"
#include "runtime/engine_impl.h"
#include "runtime/kernel_select.h"

namespace jf {

struct Session::Impl {
  Engine::Impl& engine;
  Transformer transformer;
  std::unique_ptr<Sparsifier> sparsifier;  // null: dense
};

namespace {

// The public facts are the config's shape, not a copy kept field by field.
ModelInfo make_info(const std::string& path, const ModelConfig& c, const ModelWeights& w) {
  ModelInfo info;
  static_cast<ModelShape&>(info) = c;
  info.path = path;
  info.weight_bytes = w.n_bytes;
  info.decoder_start_token = c.decoder_start_token;
  return info;
}

// The kdb's winners for this thread count; without a kdb (or none usable), the default kernels.
std::unique_ptr<KernelSelector> load_kernels(const EngineOptions& options, int n_threads) {
  if (!options.use_kdb) return std::make_unique<KernelSelector>();
  const kdb::KernelDb db =
      kdb::KernelDb::load(options.kdb_path.empty() ? kdb::KernelDb::default_path() : options.kdb_path);
  auto kernels = std::make_unique<KernelSelector>(db, n_threads);
  JF_LOG_INFO("kdb %s: %d tuned matmul kernel(s) for this device and %d threads", db.path().c_str(),
              kernels->n_tuned(), n_threads);
  return kernels;
}

// Refuses a context whose KV cache, with the weights, cannot fit the machine's memory: failing here
// with the bytes it needs beats an allocation failure (or the OOM killer) when the session starts.
Status check_memory(const ModelConfig& config, uint64_t weight_bytes, int n_ctx) {
  const uint64_t kv_bytes = KvCache::bytes_for(config, n_ctx);
  const uint64_t memory = physical_memory_bytes();
  if (memory == 0 || (kv_bytes < memory && weight_bytes < memory - kv_bytes)) return Status();
  return error(StatusCode::kOutOfRange,
               "a context of %d positions needs %llu bytes of KV cache, plus %llu bytes of weights, but this "
               "machine has %llu bytes of memory; lower the context length (-c)",
               n_ctx, static_cast<unsigned long long>(kv_bytes), static_cast<unsigned long long>(weight_bytes),
               static_cast<unsigned long long>(memory));
}

Status set_cache_from_budget(Engine::Impl& impl, uint64_t budget);

// The threshold mode's thresholds: from the file the options name, else those the model carries.
Result<std::vector<SiteThresholds>> session_thresholds(const Engine::Impl& impl, const SparsityOptions& options) {
  if (!options.thresholds_path.empty()) {
    return load_thresholds_for(options.thresholds_path, options.level, impl.info.path, impl.fingerprint,
                               impl.config.n_layer);
  }
  if (impl.carried_thresholds.empty()) {
    return error(StatusCode::kInvalidArgument,
                 "sparsity mode 'threshold' needs a thresholds file (--thresholds; made by `jitflow calibrate`), or "
                 "a model that carries them (jitflow convert --flash --thresholds)");
  }
  // The converter checked that they are the source model's; its layers are this one's.
  const std::string where = impl.info.path + " (" + kThresholdsKey + ")";
  JF_ASSIGN_OR_RETURN(const SparsityThresholds carried, parse_thresholds(impl.carried_thresholds, where));
  if (carried.n_layer != impl.config.n_layer) {
    return error(StatusCode::kCorruptFile, "%s: thresholds for %d layers in a model of %d", where.c_str(),
                 carried.n_layer, impl.config.n_layer);
  }
  return thresholds_of_level(carried, options.level, where);
}

std::string mib(uint64_t bytes) { return str_printf("%.1f MiB", static_cast<double>(bytes) / 1048576.0); }
// A minimum, rounded up: a budget of the figure printed is enough.
std::string mib_at_least(uint64_t bytes) {
  return str_printf("%.1f MiB", std::ceil(static_cast<double>(bytes) / 104857.6) / 10);
}

// Loads the resident tensors of a flash-layout model and streams its linears from the file, within
// `budget` bytes of DRAM (impl.n_ctx set); `preload`: with a loader thread.
Status open_streamed(const GgufFile& file, uint64_t budget, bool preload, Engine::Impl& impl) {
  JF_ASSIGN_OR_RETURN(const std::optional<FlashLayout> layout, read_flash_layout(file, impl.config.n_layer));
  if (!layout) {
    return error(StatusCode::kInvalidArgument,
                 "%s: a memory budget needs a model in the flash layout (jitflow convert --flash --group N)",
                 file.path().c_str());
  }
  JF_ASSIGN_OR_RETURN(impl.weights, load_weights(file, impl.config, FlashLinears::streamed));
  drop_cached_pages(file.path());  // the resident tensors' reads: the budget holds their copy only
  JF_ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> source, open_direct_file_source(file.path()));
  std::unique_ptr<ByteSource> preload_source;  // the loader thread's own: its reads never wait for ours
  if (preload) {
    JF_ASSIGN_OR_RETURN(preload_source, open_direct_file_source(file.path()));
  }
  JF_ASSIGN_OR_RETURN(
      std::unique_ptr<FlashStore> store,
      FlashStore::open(file, impl.config, impl.weights, std::move(source), std::move(preload_source)));
  const uint64_t kv = KvCache::bytes_for(impl.config, impl.n_ctx);
  impl.streaming_need = impl.weights.n_bytes + store->buffer_bytes() + kv;
  if (impl.streaming_need > budget) {
    return error(StatusCode::kOutOfRange,
                 "%s: a memory budget of %s is below the %s this model needs streamed (resident tensors %s, "
                 "group buffers %s, KV cache of %d positions %s)",
                 file.path().c_str(), mib(budget).c_str(), mib_at_least(impl.streaming_need).c_str(),
                 mib(impl.weights.n_bytes).c_str(), mib(store->buffer_bytes()).c_str(), impl.n_ctx, mib(kv).c_str());
  }
  impl.flash = store.get();
  impl.provider = std::move(store);
  return set_cache_from_budget(impl, budget);
}

// The hot-weight cache gets what the budget leaves beyond the streaming need.
Status set_cache_from_budget(Engine::Impl& impl, uint64_t budget) {
  JF_RETURN_IF_ERROR(impl.flash->set_cache_bytes(budget - impl.streaming_need));
  impl.memory_bytes = impl.streaming_need + impl.flash->cache_bytes();
  return Status();
}

void warn_if_oversubscribed(int n_threads) {
  const int n_cpus = cpu_features().n_logical_cpus;
  if (n_threads > n_cpus) {
    JF_LOG_WARN("%d threads on %d CPUs: threads beyond the CPU count wait for one another (see -t)", n_threads,
                n_cpus);
  }
}

}  // namespace

Status check_options(const EngineOptions& options) {
  if (options.n_threads < 0 || options.n_threads > 1024) {
    return error(StatusCode::kInvalidArgument, "thread count %d is outside 0..1024 (0: one per core)",
                 options.n_threads);
  }
  if (options.n_ctx < 0) {
    return error(StatusCode::kInvalidArgument, "context length %d is negative (0: the model's, at most 2048)",
                 options.n_ctx);
  }
  return Status();
}

Status check_options(const GenerateOptions& options) {
  if (options.n_predict < 0) {
    return error(StatusCode::kInvalidArgument, "token count to generate %d is negative", options.n_predict);
  }
  return check_sampler_params(options.sampling);
}

Status check_options(const SparsityOptions& options) {
  if (!(options.level >= 0 && options.level < 1)) {
    return error(StatusCode::kInvalidArgument, "sparsity %g is outside [0, 1) (0: dense)", options.level);
  }
  return Status();
}

const char* sparsity_mode_name(SparsityMode mode) { return mode == SparsityMode::topk ? "topk" : "threshold"; }

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

const Engine::Impl& engine_impl(const Engine& engine) { return *engine.impl_; }

Result<tune::TuneReport> tune_engine_matmuls(const Engine& engine, const tune::TuneOptions& options,
                                             kdb::KernelDb* db) {
  return tune::tune_model_matmuls(engine_impl(engine).weights, options, db);
}

std::unique_ptr<tune::OnlineTuner> engine_online_tuner(const Engine& engine, const tune::OnlineTuneOptions& options,
                                                       kdb::KernelDb* db) {
  const Engine::Impl& impl = engine_impl(engine);
  KernelSelector& kernels = *impl.kernels;
  return std::make_unique<tune::OnlineTuner>(
      impl.weights, *impl.pool, options, db,
      [&kernels](const tune::MatmulWorkload& w) { return kernels.select_kernel(w.weights.front(), w.n_tokens); },
      [&kernels](const tune::MatmulWorkload& w, const MatmulKernel& k) {
        kernels.adopt(w.dtype, w.layout, w.n_rows, w.n_cols, w.n_tokens, k);
      });
}

std::vector<tune::GatherWorkload> engine_gather_workloads(const Engine& engine) {
  return tune::model_gather_workloads(engine_impl(engine).weights);
}
Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::load(const std::string& model_path, const EngineOptions& options) {
  JF_RETURN_IF_ERROR(check_options(options));
  const double start_ms = now_ms();
  JF_ASSIGN_OR_RETURN(GgufFile file, GgufFile::open_path(model_path));
  auto impl = std::make_unique<Impl>();
  JF_ASSIGN_OR_RETURN(impl->config, read_model_config(file));
  JF_ASSIGN_OR_RETURN(impl->tokenizer, Tokenizer::from_gguf(file));
  if (impl->tokenizer->n_vocab() != impl->config.n_vocab) {
    return error(StatusCode::kCorruptFile, "%s: the vocabulary has %d tokens but token_embd.weight has %d rows",
                 model_path.c_str(), impl->tokenizer->n_vocab(), impl->config.n_vocab);
  }
  JF_ASSIGN_OR_RETURN(impl->fingerprint, file.content_fingerprint());
  JF_ASSIGN_OR_RETURN(impl->carried_thresholds, file.get_string_or(kThresholdsKey, ""));
  impl->n_ctx = options.n_ctx > 0 ? options.n_ctx : std::min(impl->config.n_ctx_train, 2048);
  if (impl->config.arch_info->positions == PositionKind::kLearned && impl->n_ctx > impl->config.n_ctx_train) {
    return error(StatusCode::kInvalidArgument,
                 "%s: context length %d exceeds the %d positions '%s' learned (its positions are a table): use -c %d or less",
                 model_path.c_str(), impl->n_ctx, impl->config.n_ctx_train, impl->config.arch.c_str(),
                 impl->config.n_ctx_train);
  }
  if (options.memory_budget > 0) {
    JF_RETURN_IF_ERROR(open_streamed(file, options.memory_budget, options.flash_preload, *impl));
  } else {
    JF_ASSIGN_OR_RETURN(impl->weights, load_weights(file, impl->config));
    impl->provider = std::make_unique<ResidentWeightProvider>(impl->weights);
  }
  impl->info = make_info(model_path, impl->config, impl->weights);
  JF_RETURN_IF_ERROR(check_memory(impl->config, impl->weights.n_bytes, impl->n_ctx));
  const int n_threads = options.n_threads > 0 ? options.n_threads : cpu_features().n_logical_cpus;
  warn_if_oversubscribed(n_threads);
  impl->pool = std::make_unique<ThreadPool>(n_threads);
  impl->kernels = load_kernels(options, n_threads);
  impl->load_ms = now_ms() - start_ms;
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

const ModelInfo& Engine::info() const { return impl_->info; }

StreamingStats Engine::streaming_stats() const {
  StreamingStats s;
  const FlashStore* flash = impl_->flash;
  if (flash == nullptr) return s;
  static_cast<FlashCounters&>(s) = flash->stats();
  s.streaming = true;
  s.direct_io = flash->direct_io();
  s.preloading = flash->preloading();
  s.memory_bytes = impl_->memory_bytes;
  s.buffer_bytes = flash->buffer_bytes();
  s.cache_bytes = flash->cache_bytes();
  return s;
}
double Engine::load_ms() const { return impl_->load_ms; }
int Engine::n_threads() const { return impl_->pool->n_threads(); }

std::vector<int32_t> Engine::tokenize(std::string_view text, bool add_special) const {
  return impl_->tokenizer->encode(text, add_special);
}

std::string Engine::token_to_piece(int32_t id) const {
  if (id < 0 || id >= impl_->tokenizer->n_vocab()) return "";
  return impl_->tokenizer->token_to_piece(id);
}

bool Engine::is_eog(int32_t id) const { return impl_->tokenizer->is_eog(id); }

Result<std::vector<std::vector<float>>> Engine::embed(std::span<const std::string> texts,
                                                      const EmbedOptions& options) const {
  if (texts.empty()) return error(StatusCode::kInvalidArgument, "embed: no text given");
  std::vector<std::vector<int32_t>> sequences;
  for (const std::string& text : texts) sequences.push_back(impl_->tokenizer->encode(text, /*add_special=*/true));
  return embed_tokens(*this, sequences, options);
}

std::unique_ptr<Session> Engine::new_session() {
  auto impl = std::unique_ptr<Session::Impl>(new Session::Impl{
      *impl_, Transformer(impl_->config, *impl_->provider, impl_->n_ctx, *impl_->pool, *impl_->kernels), nullptr});
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

Result<std::unique_ptr<Session>> Engine::new_session(const SparsityOptions& options) {
  JF_RETURN_IF_ERROR(check_options(options));
  std::unique_ptr<Session> session = new_session();
  if (options.level == 0) return session;
  std::unique_ptr<Sparsifier>& sparsifier = session->impl_->sparsifier;
  if (options.mode == SparsityMode::topk) {
    sparsifier = std::make_unique<Sparsifier>(Sparsifier::topk(options.level));
  } else {
    JF_ASSIGN_OR_RETURN(std::vector<SiteThresholds> thresholds, session_thresholds(*impl_, options));
    sparsifier = std::make_unique<Sparsifier>(Sparsifier::threshold(std::move(thresholds)));
  }
  session->impl_->transformer.set_activation_sites(sparsifier.get());
  return session;
}

Transformer& session_transformer(Session& session) { return session.impl_->transformer; }

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

int Session::n_past() const { return impl_->transformer.n_past(); }
int Session::n_ctx() const { return impl_->transformer.n_ctx(); }
void Session::reset() { impl_->transformer.reset(); }

uint64_t Session::linear_bytes_read() const { return impl_->transformer.linear_bytes_read(); }

Status Session::set_memory_budget(uint64_t bytes) {
  Engine::Impl& engine = impl_->engine;
  if (engine.flash == nullptr) {
    return error(StatusCode::kInvalidArgument,
                 "%s is held in memory: a budget applies to a flash-layout model loaded with one "
                 "(EngineOptions::memory_budget)",
                 engine.info.path.c_str());
  }
  if (bytes < engine.streaming_need) {
    return error(StatusCode::kOutOfRange, "a memory budget of %s is below the %s this model needs streamed",
                 mib(bytes).c_str(), mib_at_least(engine.streaming_need).c_str());
  }
  return set_cache_from_budget(engine, bytes);
}

double Session::realised_sparsity() const {
  const Sparsifier* s = impl_->sparsifier.get();
  return s == nullptr || s->n_seen() == 0 ? 0.0 : 1.0 - static_cast<double>(s->n_kept()) / s->n_seen();
}

Result<std::span<const float>> Session::eval(std::span<const int32_t> tokens, bool all_logits) {
  JF_ASSIGN_OR_RETURN(const float* logits, impl_->transformer.forward(tokens, all_logits));
  const size_t rows = all_logits ? tokens.size() : 1;
  return std::span<const float>(logits, rows * static_cast<size_t>(impl_->engine.config.n_vocab));
}

Status Session::encode(std::span<const int32_t> tokens) {
  const Engine::Impl& engine = impl_->engine;
  const ModelConfig& c = engine.config;
  if (c.arch_info->forward != ForwardKind::kEncoderDecoder) {
    return error(StatusCode::kUnsupported, "'%s' has no encoder to feed: eval() takes its tokens", c.arch.c_str());
  }
  if (tokens.empty()) return error(StatusCode::kInvalidArgument, "encode() needs at least one token");
  Encoder encoder(encoder_config(c), encoder_stack(engine.weights, c), *engine.pool, *engine.kernels);
  const int lengths[] = {static_cast<int>(tokens.size())};
  JF_ASSIGN_OR_RETURN(std::span<const float> states, encoder.forward(tokens, lengths));
  return impl_->transformer.set_cross_input(states, lengths[0]);
}

Result<GenerationStats> Session::generate(std::string_view prompt, const GenerateOptions& options,
                                          const std::function<bool(std::string_view)>& on_piece) {
  JF_RETURN_IF_ERROR(check_options(options));
  double encode_ms = 0;
  const Tokenizer& tokenizer = *impl_->engine.tokenizer;
  std::vector<int32_t> tokens = tokenizer.encode(prompt, /*add_special=*/n_past() == 0);
  if (tokens.empty()) {
    return error(StatusCode::kInvalidArgument, "the prompt is empty and the vocabulary adds no BOS token");
  }
  const ModelConfig& config = impl_->engine.config;
  const bool seq2seq = config.arch_info->forward == ForwardKind::kEncoderDecoder;
  const int n_input_tokens = static_cast<int>(tokens.size());
  if (seq2seq) {
    // The prompt is the encoder's input; the decoder starts from its start token.
    if (config.decoder_start_token < 0 || config.decoder_start_token >= config.n_vocab) {
      return error(StatusCode::kInvalidArgument, "the model has no valid %s.decoder_start_token_id",
                   config.arch.c_str());
    }
    const double encode_start = now_ms();
    JF_RETURN_IF_ERROR(encode(tokens));
    encode_ms = now_ms() - encode_start;
    tokens = {config.decoder_start_token};
  }
  if (static_cast<int64_t>(n_past()) + static_cast<int64_t>(tokens.size()) > n_ctx()) {
    return error(StatusCode::kOutOfRange, "the prompt is %zu tokens but the context holds %d (%d already used); "
                 "raise the context length (-c) or shorten the prompt", tokens.size(), n_ctx(), n_past());
  }
  GenerationStats stats;
  stats.n_prompt_tokens = n_input_tokens;
  Sampler sampler(options.sampling);
  for (int32_t t : tokens) sampler.accept(t);

  double start = now_ms();
  JF_ASSIGN_OR_RETURN(std::span<const float> logits, eval(tokens));
  stats.prefill_ms = now_ms() - start + encode_ms;

  // Only sampling and forward passes are timed; the text callback (terminal output) is not.
  for (int i = 0; i < options.n_predict; ++i) {
    start = now_ms();
    const int32_t next = sampler.sample(logits);
    sampler.accept(next);
    ++stats.n_generated;
    stats.decode_ms += now_ms() - start;
    if (options.stop_at_eog && tokenizer.is_eog(next)) break;
    if (!on_piece(tokenizer.token_to_piece(next)) || i + 1 == options.n_predict) break;
    if (n_past() == n_ctx()) {
      stats.context_full = true;
      break;
    }
    start = now_ms();
    JF_ASSIGN_OR_RETURN(logits, eval(std::span<const int32_t>(&next, 1)));
    ++stats.n_decode_evals;
    stats.decode_ms += now_ms() - start;
  }
  return stats;
}

}  // namespace jf
