#include "base/cpu_features.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif
#if defined(__EMSCRIPTEN__)
#include <emscripten/emscripten.h>
#endif

#if defined(__EMSCRIPTEN__)
// The JavaScript engine that runs us, which decides what the CPU's SIMD becomes: the browser's user
// agent (name and version), or Node's version.
// clang-format off
EM_JS(void, jf_js_engine_name, (char* out, int capacity), {
  const name = (typeof navigator !== 'undefined' && navigator.userAgent) ? navigator.userAgent
             : (typeof process !== 'undefined' ? 'node ' + process.version : 'unknown');
  stringToUTF8(name, out, capacity);
});
// clang-format on
#endif

namespace jf {
namespace {

#if defined(__x86_64__) || defined(__i386__)
uint64_t read_xcr0() {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

void detect_x86(CpuFeatures* f) {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return;
  const bool osxsave = ecx & bit_OSXSAVE;
  const uint64_t xcr0 = osxsave ? read_xcr0() : 0;
  const bool os_avx = (xcr0 & 0x6) == 0x6;            // XMM and YMM state saved by the OS
  const bool os_avx512 = os_avx && (xcr0 & 0xe0) == 0xe0;  // opmask and ZMM state
  f->fma = os_avx && (ecx & bit_FMA);
  f->f16c = os_avx && (ecx & bit_F16C);
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
    f->avx2 = os_avx && (ebx & bit_AVX2);
    f->avx512f = os_avx512 && (ebx & bit_AVX512F);
    f->avx512bw = os_avx512 && (ebx & bit_AVX512BW);
    f->avx512vl = os_avx512 && (ebx & bit_AVX512VL);
    f->avx512vnni = os_avx512 && (ecx & bit_AVX512VNNI);
  }
  if (__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) {
    f->avx512bf16 = os_avx512 && (eax & (1u << 5));
    f->avxvnni = os_avx && (eax & (1u << 4));
  }
  unsigned brand[12] = {};
  if (__get_cpuid(0x80000000, &eax, &ebx, &ecx, &edx) && eax >= 0x80000004) {
    for (unsigned i = 0; i < 3; ++i) {
      __get_cpuid(0x80000002 + i, &brand[i * 4], &brand[i * 4 + 1], &brand[i * 4 + 2], &brand[i * 4 + 3]);
    }
    char text[49] = {};
    std::memcpy(text, brand, 48);
    std::string name(text);
    const size_t first = name.find_first_not_of(' ');
    const size_t last = name.find_last_not_of(' ');
    f->model_name = first == std::string::npos ? "" : name.substr(first, last - first + 1);
  }
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  detect_x86(&f);
#elif defined(__aarch64__)
  f.neon = true;
#if defined(__linux__)
  f.neon_dotprod = (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#elif defined(__ARM_FEATURE_DOTPROD)
  f.neon_dotprod = true;  // no run-time query: what the compiler was told
#endif
  f.model_name = "aarch64";
#elif defined(__EMSCRIPTEN__)
  char engine[256];
  jf_js_engine_name(engine, sizeof engine);
  f.model_name = engine;
#endif
  const unsigned n = std::thread::hardware_concurrency();
  f.n_logical_cpus = n == 0 ? 1 : static_cast<int>(n);
  return f;
}

}  // namespace

std::string CpuFeatures::feature_list() const {
  std::string out;
  auto add = [&](bool has, const char* name) {
    if (!has) return;
    if (!out.empty()) out += ' ';
    out += name;
  };
  add(avx2, "avx2");
  add(fma, "fma");
  add(f16c, "f16c");
  add(avx512f, "avx512f");
  add(avx512bw, "avx512bw");
  add(avx512vl, "avx512vl");
  add(avx512vnni, "avx512vnni");
  add(avx512bf16, "avx512bf16");
  add(avxvnni, "avxvnni");
  add(neon, "neon");
  add(neon_dotprod, "dotprod");
#if defined(__wasm_simd128__)
  add(true, "simd128");  // a build that the engine could not run without it
#endif
  return out.empty() ? "scalar" : out;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

namespace {

// "32K", "1024K", "8M" or a plain byte count; 0 when unparsable.
uint64_t parse_cache_size(const std::string& text) {
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text.c_str(), &end, 10);
  if (end == text.c_str()) return 0;
  switch (*end) {
    case 'K': return value << 10;
    case 'M': return value << 20;
    case 'G': return value << 30;
    case '\0': case '\n': return value;
    default: return 0;
  }
}

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

CacheSizes read_sysfs_cache_sizes(const std::string& cache_dir) {
  CacheSizes sizes;
  for (int index = 0; index < 16; ++index) {
    const std::string dir = cache_dir + "/index" + std::to_string(index) + "/";
    const std::string level = read_first_line(dir + "level");
    if (level.empty()) continue;  // indices may have gaps; 16 is more levels than any CPU has
    const std::string type = read_first_line(dir + "type");
    const uint64_t bytes = parse_cache_size(read_first_line(dir + "size"));
    if (type == "Instruction") continue;
    if (level == "1") sizes.l1d_bytes = bytes;
    if (level == "2") sizes.l2_bytes = bytes;
    if (level == "3") sizes.l3_bytes = bytes;
  }
  return sizes;
}

}  // namespace jf
