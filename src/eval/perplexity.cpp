#include "eval/perplexity.h"

#include <cmath>
#include <memory>

namespace jf::eval {
namespace {

// lp[v] = z[v] - log(sum_u exp(z[u])), over n logits.
void log_softmax(const float* z, int64_t n, float* lp) {
  float max = z[0];
  for (int64_t v = 1; v < n; ++v) max = std::max(max, z[v]);
  double sum = 0;
  for (int64_t v = 0; v < n; ++v) sum += std::exp(z[v] - max);
  const float lse = max + static_cast<float>(std::log(sum));
  for (int64_t v = 0; v < n; ++v) lp[v] = z[v] - lse;
}

// The lowest id of the largest value.
int64_t argmax(const float* z, int64_t n) {
  int64_t best = 0;
  for (int64_t v = 1; v < n; ++v) {
    if (z[v] > z[best]) best = v;
  }
  return best;
}

// Sums of one configuration over the positions scored so far.
struct Sums {
  double nll = 0, kl = 0;
  int64_t agree = 0, n = 0;
};

// The dense model's distributions at the scored positions of one window, kept to compare the
// sparse configurations with.
struct DenseWindow {
  std::vector<float> log_p, p;  // [n_scored, n_vocab]
  std::vector<int64_t> top;     // [n_scored]
};

void score_dense(const ScoringWindow& w, const float* logits, int64_t n_vocab, DenseWindow* dense,
                 Sums* sums) {
  const int n = w.n_scored();
  dense->log_p.resize(static_cast<size_t>(n) * n_vocab);
  dense->p.resize(dense->log_p.size());
  dense->top.resize(n);
  for (int i = 0; i < n; ++i) {
    const int j = w.first_scored + i;
    float* lp = dense->log_p.data() + i * n_vocab;
    log_softmax(logits + j * n_vocab, n_vocab, lp);
    for (int64_t v = 0; v < n_vocab; ++v) dense->p[i * n_vocab + v] = std::exp(lp[v]);
    dense->top[i] = argmax(logits + j * n_vocab, n_vocab);
    sums->nll -= lp[w.tokens[j + 1]];
    sums->agree += 1;
    sums->n += 1;
  }
}

void score_sparse(const ScoringWindow& w, const float* logits, int64_t n_vocab, const DenseWindow& dense,
                  Sums* sums) {
  std::vector<float> lp(n_vocab);
  for (int i = 0; i < w.n_scored(); ++i) {
    const int j = w.first_scored + i;
    log_softmax(logits + j * n_vocab, n_vocab, lp.data());
    const float* dense_lp = dense.log_p.data() + i * n_vocab;
    const float* dense_p = dense.p.data() + i * n_vocab;
    double kl = 0;
    for (int64_t v = 0; v < n_vocab; ++v) kl += dense_p[v] * (dense_lp[v] - lp[v]);
    sums->kl += kl;
    sums->nll -= lp[w.tokens[j + 1]];
    sums->agree += argmax(logits + j * n_vocab, n_vocab) == dense.top[i];
    sums->n += 1;
  }
}

std::vector<PerplexityResult> results_of(const std::vector<SparsityOptions>& configs,
                                         const std::vector<Sums>& sums,
                                         const std::vector<std::unique_ptr<Session>>& sessions,
                                         int n_windows) {
  std::vector<PerplexityResult> results;
  for (size_t i = 0; i < configs.size(); ++i) {
    const Sums& s = sums[i];
    PerplexityResult r;
    r.sparsity = configs[i];
    r.n_scored = s.n;
    r.n_windows = n_windows;
    if (s.n > 0) {
      r.perplexity = std::exp(s.nll / s.n);
      r.kl = s.kl / s.n;
      r.top1 = static_cast<double>(s.agree) / s.n;
    }
    r.realised_sparsity = sessions[i]->realised_sparsity();
    results.push_back(r);
  }
  return results;
}

}  // namespace

Result<std::vector<PerplexityResult>> evaluate_perplexity(Engine& engine, std::string_view text,
                                                          const PerplexityOptions& options,
                                                          const PerplexityProgress& progress) {
  if (options.ctx < 2)
    return error(StatusCode::kInvalidArgument, "--ctx %d: at least 2 positions", options.ctx);
  const std::vector<ScoringWindow> windows =
      make_windows(engine, text, options.protocol, options.ctx, options.max_windows);
  if (windows.empty()) {
    return error(
        StatusCode::kInvalidArgument, "the text is too short for one window of %d tokens (%s protocol)",
        options.ctx + (options.protocol == TextProtocol::corpus ? 1 : 0), protocol_name(options.protocol));
  }
  std::vector<SparsityOptions> configs = {SparsityOptions{}};
  configs.insert(configs.end(), options.sparse.begin(), options.sparse.end());
  std::vector<std::unique_ptr<Session>> sessions;
  for (const SparsityOptions& config : configs) {
    JF_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, engine.new_session(config));
    if (windows[0].n_inputs() > session->n_ctx()) {
      return error(StatusCode::kInvalidArgument,
                   "a window of %d positions does not fit the context of %d (raise -c)",
                   windows[0].n_inputs(), session->n_ctx());
    }
    sessions.push_back(std::move(session));
  }
  const int64_t n_vocab = engine.info().n_vocab;
  std::vector<Sums> sums(configs.size());
  DenseWindow dense;
  for (size_t w = 0; w < windows.size(); ++w) {
    const ScoringWindow& window = windows[w];
    const std::span<const int32_t> inputs(window.tokens.data(), window.n_inputs());
    for (size_t i = 0; i < sessions.size(); ++i) {
      sessions[i]->reset();
      JF_ASSIGN_OR_RETURN(std::span<const float> logits, sessions[i]->eval(inputs, /*all_logits=*/true));
      if (i == 0) {
        score_dense(window, logits.data(), n_vocab, &dense, &sums[0]);
      } else {
        score_sparse(window, logits.data(), n_vocab, dense, &sums[i]);
      }
    }
    if (progress)
      progress(static_cast<int>(w), static_cast<int>(windows.size()),
               results_of(configs, sums, sessions, static_cast<int>(w) + 1));
  }
  return results_of(configs, sums, sessions, static_cast<int>(windows.size()));
}

}  // namespace jf::eval
