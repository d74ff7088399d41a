// A model's decode step as a WebGPU program: the buffers (weights in their GPU layout, activations,
// the KV cache on the GPU), the WGSL kernels (wgsl.h) and the dispatches of one token, in order.
// A runtime (web/gpu/runtime.js, in the page or in node with Dawn) creates the buffers, uploads
// their initial contents, and per pass writes `params` = [n_tokens, position, tokens...], submits
// the pass's steps in one command buffer (a prompt: prefill passes of up to `batch` tokens; then one
// decode pass per token) and reads back `result`, the top_k candidates for the next token sorted on
// the GPU (greedy reads only the first): the only read-back.
//
// Serialised as plan.json (jitflow-webgpu-plan, version 3) beside data.bin, the initial contents:
//   {"format":"jitflow-webgpu-plan","version":3,"model":{...},"n_ctx":N,"batch":B,"top_k":K,"data_bytes":B,
//    "params":i,"result":i,"notes":[s],"buffers":[{"name":s,"bytes":n[,"data":offset]}],
//    "kernels":[{"name":s,"wgsl":text}],"steps":[{"kernel":k,"buffers":[i...],"groups":[x,y]}],
//    "prefill_steps":[...as steps],
//    "workloads":[{"name":s,"pass":"decode"|"prefill","steps":[i...],"full_space":n,"candidates":[{"kernel":k,"config":s,
//    "groups":[x,y]}]}]}
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/json.h"
#include "gguf/gguf.h"
#include "gpu/wgsl.h"
#include "jitflow/model_shape.h"
#include "jitflow/status.h"

namespace jf::gpu {

struct PlanBuffer {
  std::string name;
  uint64_t bytes = 0;
  int64_t data_offset = -1;  // where its initial contents start in Plan::data; -1: zeros
};

struct PlanStep {
  int kernel = 0;            // index into Plan::kernels
  std::vector<int> buffers;  // bound at 0, 1, ... in the kernel's binding order
  Groups groups;
};

// Decode runs one token per pass; prefill up to `batch` (params.n_tokens) with matmul kernels.
enum class Pass { kDecode, kPrefill };

// The steps of one pass that run one linear workload (matvec at decode, matmul at prefill; type,
// shape, accumulate) and, when the plan was made for tuning, the candidates of its lite space that
// a tuner may swap in (web/gpu/tuner.js): each candidate's kernel is in Plan::kernels, dispatched
// as `groups`.
struct PlanCandidate {
  int kernel = 0;
  std::string config;  // config_name: "l4t4w32", "m4t4w16x4"
  Groups groups;
};
struct PlanWorkload {
  std::string name;  // "f16-f32-matvec-acc 768x2048" (n_rows x n_cols)
  Pass pass = Pass::kDecode;
  std::vector<int> steps;  // of that pass
  size_t full_space = 0;   // configs before pruning
  std::vector<PlanCandidate> candidates;
};

struct Plan {
  ModelShape shape;
  int n_ctx = 0;
  int batch = 0;  // tokens of one prefill pass
  int top_k = 0;  // candidates each pass leaves in `result` (wgsl_top_k)
  std::vector<PlanBuffer> buffers;
  std::vector<WgslKernel> kernels;      // each source text once
  std::vector<PlanStep> steps;          // one decode pass
  std::vector<PlanStep> prefill_steps;  // one prefill pass
  std::vector<PlanWorkload> workloads;  // decode's, then prefill's
  int params = -1, result = -1;         // buffers
  std::vector<uint8_t> data;
  std::vector<std::string> notes;  // what the plan changed: "1 q6_k matrices stored as f16 (rounded)"

  // Adds a buffer; `contents` (null: zeros) is copied into data, 16-byte aligned.
  int add_buffer(std::string name, uint64_t bytes, const uint8_t* contents = nullptr);
  // Adds a step to a pass, and the kernel unless a kernel of the same text is there already.
  void add_step(Pass pass, const WgslKernel& kernel, std::vector<int> buffers, Groups groups);
  // The kernel's index, added unless a kernel of the same text is there already.
  int add_kernel(const WgslKernel& kernel);
};

struct PlanOptions {
  int n_ctx = 0;   // 0: the model's training context, at most kMaxWgslContext
  int batch = 32;  // tokens per prefill pass (at most n_ctx)
  int top_k = 32;  // candidates read back for sampling (at most kMaxTopK); the first is greedy's
  MatvecConfig matvec;
  MatmulConfig matmul;
  bool candidates = false;  // add each workload's lite space (matvec_space, matmul_space) for a tuner
  bool full_space = false;  // ... or every config (the full spaces), to measure what pruning loses
  AdapterLimits adapter;    // what the space is pruned by
};

// The decode program of a Llama-family model (decoder, RMSNorm, SwiGLU, RoPE, no biases). Matrices
// of a type the shaders do not read are converted to F16 (Plan::notes says which). An architecture
// the shaders do not implement, or a type jitflow cannot read, is kUnsupported naming the model (and
// the tensor); a tensor of the wrong shape is kCorruptFile.
Result<Plan> build_plan(const GgufFile& file, const PlanOptions& options);

// The plan.json document (data.bin is Plan::data as it is).
Json plan_json(const Plan& plan);

}  // namespace jf::gpu
