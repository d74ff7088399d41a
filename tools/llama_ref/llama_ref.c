// llama_ref — a by-hand driver of llama.cpp (node-llama-cpp's prebuilt libllama) that writes reference outputs
// ("goldens") for jitflow's tests. Build with tools/llama_ref/build.sh; see tools/llama_ref/README.md.
//
//   llama_ref tokenize VOCAB.gguf INP OUT
//   llama_ref decode   MODEL [opts] PROMPT...   --out DIR --n-gen N --n-logits K
//   llama_ref embed    MODEL [opts] PROMPT...   --out DIR --pooling mean|cls|last|none|model
//   llama_ref seq2seq  MODEL [opts] PROMPT...   --out DIR --n-gen N --n-logits K
//   llama_ref info     [MODEL]
//
// Not part of the build or of CI. C11 + llama.h only (the C API).
#define _GNU_SOURCE
#include "llama.h"
#include "ggml-backend.h"

#include <ctype.h>
#include <errno.h>
#include <link.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef LLAMA_REF_BINS
#define LLAMA_REF_BINS ""
#endif
#ifndef LLAMA_REF_COMMIT
#define LLAMA_REF_COMMIT "unknown"
#endif
#ifndef LLAMA_REF_RELEASE
#define LLAMA_REF_RELEASE "unknown"
#endif
#ifndef LLAMA_REF_NLC_VERSION
#define LLAMA_REF_NLC_VERSION "unknown"
#endif

// ---------------------------------------------------------------------------------------------------------------
// small utilities

static void die(const char * fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "llama_ref: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void * xmalloc(size_t n) {
    void * p = malloc(n ? n : 1);
    if (!p) die("out of memory");
    return p;
}

static void * xrealloc(void * p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p) die("out of memory");
    return p;
}

static char * xstrdup(const char * s) {
    size_t n = strlen(s);
    char * r = xmalloc(n + 1);
    memcpy(r, s, n + 1);
    return r;
}

static char * read_file(const char * path, size_t * len) {
    FILE * f = fopen(path, "rb");
    if (!f) die("cannot open %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char * buf = xmalloc(cap + 1);
    for (;;) {
        if (n == cap) { cap *= 2; buf = xrealloc(buf, cap + 1); }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    if (ferror(f)) die("cannot read %s", path);
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

static __attribute__((unused)) void mkdir_p(const char * path) {
    char * p = xstrdup(path);
    for (char * s = p + 1; *s; ++s) {
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0777) != 0 && errno != EEXIST) die("mkdir %s: %s", p, strerror(errno));
            *s = '/';
        }
    }
    if (mkdir(p, 0777) != 0 && errno != EEXIST) die("mkdir %s: %s", p, strerror(errno));
    free(p);
}

static __attribute__((unused)) char * path_join(const char * a, const char * b) {
    size_t na = strlen(a), nb = strlen(b);
    char * r = xmalloc(na + nb + 2);
    memcpy(r, a, na);
    r[na] = '/';
    memcpy(r + na + 1, b, nb + 1);
    return r;
}

// ---------------------------------------------------------------------------------------------------------------
// SHA-256 (FIPS 180-4), for the model_sha256 / file sha256 fields

typedef struct { uint32_t h[8]; uint64_t len; uint8_t buf[64]; size_t nbuf; } sha256_ctx;

static const uint32_t k_sha256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR32(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(sha256_ctx * c, const uint8_t * p) {
    uint32_t w[64];
    for (int i = 0; i < 16; ++i) w[i] = (uint32_t) p[4*i] << 24 | (uint32_t) p[4*i+1] << 16 | (uint32_t) p[4*i+2] << 8 | p[4*i+3];
    for (int i = 16; i < 64; ++i) {
        uint32_t s0 = ROR32(w[i-15], 7) ^ ROR32(w[i-15], 18) ^ (w[i-15] >> 3);
        uint32_t s1 = ROR32(w[i-2], 17) ^ ROR32(w[i-2], 19) ^ (w[i-2] >> 10);
        w[i] = w[i-16] + s0 + w[i-7] + s1;
    }
    uint32_t a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3], e = c->h[4], f = c->h[5], g = c->h[6], h = c->h[7];
    for (int i = 0; i < 64; ++i) {
        uint32_t S1 = ROR32(e, 6) ^ ROR32(e, 11) ^ ROR32(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = h + S1 + ch + k_sha256[i] + w[i];
        uint32_t S0 = ROR32(a, 2) ^ ROR32(a, 13) ^ ROR32(a, 22);
        uint32_t mj = (a & b) ^ (a & cc) ^ (b & cc);
        uint32_t t2 = S0 + mj;
        h = g; g = f; f = e; e = d + t1; d = cc; cc = b; b = a; a = t1 + t2;
    }
    c->h[0] += a; c->h[1] += b; c->h[2] += cc; c->h[3] += d; c->h[4] += e; c->h[5] += f; c->h[6] += g; c->h[7] += h;
}

static void sha256_init(sha256_ctx * c) {
    static const uint32_t h0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    memcpy(c->h, h0, sizeof h0);
    c->len = 0;
    c->nbuf = 0;
}

static void sha256_update(sha256_ctx * c, const void * data, size_t n) {
    const uint8_t * p = data;
    c->len += n;
    while (n > 0) {
        size_t k = 64 - c->nbuf;
        if (k > n) k = n;
        memcpy(c->buf + c->nbuf, p, k);
        c->nbuf += k; p += k; n -= k;
        if (c->nbuf == 64) { sha256_block(c, c->buf); c->nbuf = 0; }
    }
}

static void sha256_final_hex(sha256_ctx * c, char out[65]) {
    uint64_t bits = c->len * 8;
    uint8_t pad = 0x80;
    sha256_update(c, &pad, 1);
    pad = 0;
    while (c->nbuf != 56) sha256_update(c, &pad, 1);
    uint8_t l[8];
    for (int i = 0; i < 8; ++i) l[i] = (uint8_t) (bits >> (56 - 8 * i));
    sha256_update(c, l, 8);
    for (int i = 0; i < 8; ++i) snprintf(out + 8 * i, 9, "%08x", c->h[i]);
}

static void sha256_file(const char * path, char out[65]) {
    FILE * f = fopen(path, "rb");
    if (!f) die("cannot open %s: %s", path, strerror(errno));
    sha256_ctx c;
    sha256_init(&c);
    static uint8_t buf[1 << 16];
    size_t r;
    while ((r = fread(buf, 1, sizeof buf, f)) > 0) sha256_update(&c, buf, r);
    fclose(f);
    sha256_final_hex(&c, out);
}

static void sha256_mem(const void * p, size_t n, char out[65]) {
    sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, p, n);
    sha256_final_hex(&c, out);
}

// ---------------------------------------------------------------------------------------------------------------
// JSON output

// a JSON string of arbitrary bytes: valid UTF-8 is kept, invalid bytes become U+FFFD (the exact bytes go to *_hex)
static void json_str_n(FILE * f, const char * s, size_t n) {
    const unsigned char * p = (const unsigned char *) s;
    fputc('"', f);
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (c < 0x80) {
            switch (c) {
                case '"':  fputs("\\\"", f); break;
                case '\\': fputs("\\\\", f); break;
                case '\n': fputs("\\n", f); break;
                case '\r': fputs("\\r", f); break;
                case '\t': fputs("\\t", f); break;
                case '\b': fputs("\\b", f); break;
                case '\f': fputs("\\f", f); break;
                default:
                    if (c < 0x20 || c == 0x7f) fprintf(f, "\\u%04x", c);
                    else fputc((int) c, f);
            }
            ++i;
            continue;
        }
        // decode one UTF-8 sequence strictly
        int len = 0;
        uint32_t cp = 0, min = 0;
        if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; min = 0x80; }
        else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; min = 0x800; }
        else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; min = 0x10000; }
        int ok = len > 0 && i + (size_t) len <= n;
        for (int k = 1; ok && k < len; ++k) {
            if ((p[i + k] & 0xc0) != 0x80) ok = 0;
            else cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if (ok && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) ok = 0;
        if (ok) {
            fwrite(p + i, 1, (size_t) len, f);
            i += (size_t) len;
        } else {
            fputs("\xef\xbf\xbd", f);
            ++i;
        }
    }
    fputc('"', f);
}

static void json_str(FILE * f, const char * s) { json_str_n(f, s, strlen(s)); }

static void json_hex(FILE * f, const char * s, size_t n) {
    fputc('"', f);
    for (size_t i = 0; i < n; ++i) fprintf(f, "%02x", (unsigned char) s[i]);
    fputc('"', f);
}

static void json_float(FILE * f, double v) {
    if (isnan(v) || isinf(v)) fputs("null", f);
    else fprintf(f, "%.9g", v);
}

static void json_ints(FILE * f, const int32_t * v, int n) {
    fputc('[', f);
    for (int i = 0; i < n; ++i) fprintf(f, "%s%d", i ? ", " : "", v[i]);
    fputc(']', f);
}

static void json_floats(FILE * f, const float * v, int n) {
    fputc('[', f);
    for (int i = 0; i < n; ++i) {
        if (i) fputs(", ", f);
        json_float(f, v[i]);
    }
    fputc(']', f);
}

// ---------------------------------------------------------------------------------------------------------------
// llama.cpp setup: logging, CPU backend loading, system info

static int g_verbose = 0;

static void log_cb(enum ggml_log_level level, const char * text, void * user) {
    (void) user;
    if (g_verbose || level == GGML_LOG_LEVEL_ERROR || level == GGML_LOG_LEVEL_WARN) fputs(text, stderr);
}

// names of the loaded libggml-cpu*.so (node-llama-cpp's build picks one CPU variant at run time)
static char g_cpu_libs[4096];

static int phdr_cb(struct dl_phdr_info * info, size_t size, void * data) {
    (void) size; (void) data;
    const char * name = info->dlpi_name;
    if (!name || !*name) return 0;
    const char * base = strrchr(name, '/');
    base = base ? base + 1 : name;
    if (strncmp(base, "libggml", 7) == 0 || strncmp(base, "libllama", 8) == 0) {
        size_t n = strlen(g_cpu_libs);
        snprintf(g_cpu_libs + n, sizeof g_cpu_libs - n, "%s%s", n ? "\n" : "", name);
    }
    return 0;
}

static const char * bins_dir(void) {
    const char * e = getenv("LLAMA_REF_BINS");
    return (e && *e) ? e : LLAMA_REF_BINS;
}

static void setup_llama(void) {
    if (getenv("LLAMA_REF_VERBOSE")) g_verbose = 1;
    llama_log_set(log_cb, NULL);
    ggml_log_set(log_cb, NULL);
    // the prebuilt ggml uses dynamically loaded backends (GGML_BACKEND_DL): load the CPU variants from the bins dir
    if (ggml_backend_dev_count() == 0) ggml_backend_load_all_from_path(bins_dir());
    if (ggml_backend_dev_count() == 0) die("no ggml backend could be loaded from %s", bins_dir());
    llama_backend_init();
}

// the fields every JSON output carries about llama.cpp and the machine
static void json_llama_info(FILE * f, const char * ind) {
    fprintf(f, "%s\"llama_cpp\": {\n", ind);
    fprintf(f, "%s  \"source\": \"node-llama-cpp %s prebuilt linux-x64 (CPU) binaries; llama.cpp release tag %s\",\n",
            ind, LLAMA_REF_NLC_VERSION, LLAMA_REF_RELEASE);
    fprintf(f, "%s  \"bundle_commit\": \"%s\",\n", ind, LLAMA_REF_COMMIT);
    fprintf(f, "%s  \"system_info\": ", ind);
    json_str(f, llama_print_system_info());
    fprintf(f, ",\n%s  \"devices\": [", ind);
    for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
        ggml_backend_dev_t d = ggml_backend_dev_get(i);
        fprintf(f, "%s{\"name\": ", i ? ", " : "");
        json_str(f, ggml_backend_dev_name(d));
        fprintf(f, ", \"description\": ");
        json_str(f, ggml_backend_dev_description(d));
        fprintf(f, "}");
    }
    fprintf(f, "],\n%s  \"cpu_backend_features\": {", ind);
    ggml_backend_reg_t reg = ggml_backend_reg_by_name("CPU");
    if (reg) {
        typedef struct ggml_backend_feature * (*get_features_t)(ggml_backend_reg_t);
        get_features_t gf = (get_features_t) ggml_backend_reg_get_proc_address(reg, "ggml_backend_get_features");
        if (gf) {
            struct ggml_backend_feature * ft = gf(reg);
            for (int i = 0; ft && ft[i].name; ++i) {
                fprintf(f, "%s", i ? ", " : "");
                json_str(f, ft[i].name);
                fputs(": ", f);
                json_str(f, ft[i].value);
            }
        }
    }
    fprintf(f, "},\n%s  \"loaded_libraries\": [", ind);
    g_cpu_libs[0] = 0;
    dl_iterate_phdr(phdr_cb, NULL);
    {
        char * s = g_cpu_libs;
        int first = 1;
        while (*s) {
            char * e = strchr(s, '\n');
            size_t n = e ? (size_t) (e - s) : strlen(s);
            fprintf(f, "%s", first ? "" : ", ");
            json_str_n(f, s, n);
            first = 0;
            s += n + (e ? 1 : 0);
        }
    }
    fprintf(f, "]\n%s}", ind);
}

// ---------------------------------------------------------------------------------------------------------------
// tokenization helpers

typedef struct { int32_t * v; int n; } tokvec;

static tokvec tokenize(const struct llama_vocab * vocab, const char * text, size_t len, bool add_special, bool parse_special) {
    tokvec t;
    int cap = (int) len + 8;
    t.v = xmalloc(sizeof(int32_t) * (size_t) cap);
    int n = llama_tokenize(vocab, text, (int32_t) len, t.v, cap, add_special, parse_special);
    if (n < 0) {
        cap = -n;
        t.v = xrealloc(t.v, sizeof(int32_t) * (size_t) cap);
        n = llama_tokenize(vocab, text, (int32_t) len, t.v, cap, add_special, parse_special);
        if (n < 0) die("llama_tokenize failed (%d)", n);
    }
    t.n = n;
    return t;
}

// llama_token_to_piece into a malloc'd buffer; *len = its byte length
static char * token_piece(const struct llama_vocab * vocab, int32_t tok, bool special, int * len) {
    int cap = 64;
    char * buf = xmalloc((size_t) cap);
    int n = llama_token_to_piece(vocab, tok, buf, cap, 0, special);
    if (n < 0) {
        cap = -n;
        buf = xrealloc(buf, (size_t) cap);
        n = llama_token_to_piece(vocab, tok, buf, cap, 0, special);
        if (n < 0) die("llama_token_to_piece failed");
    }
    *len = n;
    return buf;
}

// ---------------------------------------------------------------------------------------------------------------
// mode: tokenize — llama.cpp's tests/test-tokenizer-0 on a vocab file, written in the .out format that
// convert_hf_to_gguf_update.py writes: per test string one line, each id preceded by a space.

static int cmd_tokenize(int argc, char ** argv) {
    bool add_special = false, parse_special = false;
    const char * pos[3];
    int npos = 0;
    for (int i = 0; i < argc; ++i) {
        if (!strcmp(argv[i], "--add-special")) add_special = true;
        else if (!strcmp(argv[i], "--parse-special")) parse_special = true;
        else if (argv[i][0] == '-' && argv[i][1] == '-') die("tokenize: unknown option %s", argv[i]);
        else if (npos < 3) pos[npos++] = argv[i];
        else die("tokenize: too many arguments");
    }
    if (npos != 3) die("usage: llama_ref tokenize VOCAB.gguf INP OUT [--add-special] [--parse-special]");
    const char * fvocab = pos[0], * finp = pos[1], * fout = pos[2];

    setup_llama();
    struct llama_model_params mp = llama_model_default_params();
    mp.vocab_only = true;
    struct llama_model * model = llama_model_load_from_file(fvocab, mp);
    if (!model) die("cannot load vocab %s", fvocab);
    const struct llama_vocab * vocab = llama_model_get_vocab(model);

    size_t nraw;
    char * raw = read_file(finp, &nraw);

    // split exactly like tests/test-tokenizer-0.cpp (read_tests): separator "\n__ggml_vocab_test__\n"; a trailing
    // separator ends the last test, text after the last separator is one more test
    static const char sep[] = "\n__ggml_vocab_test__\n";
    const size_t nsep = sizeof sep - 1;

    FILE * fo = strcmp(fout, "-") ? fopen(fout, "wb") : stdout;
    if (!fo) die("cannot write %s: %s", fout, strerror(errno));
    int ntests = 0;
    size_t p = 0;
    while (p < nraw) {
        const char * next = memmem(raw + p, nraw - p, sep, nsep);
        size_t end = next ? (size_t) (next - raw) : nraw;
        tokvec t = tokenize(vocab, raw + p, end - p, add_special, parse_special);
        for (int k = 0; k < t.n; ++k) fprintf(fo, " %d", t.v[k]);
        fputc('\n', fo);
        free(t.v);
        ++ntests;
        if (!next) break;
        p = end + nsep;
    }
    if (fo != stdout) fclose(fo);
    fprintf(stderr, "llama_ref tokenize: %d test strings from %s -> %s (add_special=%s, parse_special=%s)\n",
            ntests, finp, fout, add_special ? "true" : "false", parse_special ? "true" : "false");
    free(raw);
    llama_model_free(model);
    return 0;
}

// ---------------------------------------------------------------------------------------------------------------

static int cmd_info(int argc, char ** argv) {
    setup_llama();
    FILE * f = stdout;
    fprintf(f, "{\n");
    json_llama_info(f, "  ");
    if (argc >= 1) {
        struct llama_model_params mp = llama_model_default_params();
        mp.vocab_only = true;
        struct llama_model * model = llama_model_load_from_file(argv[0], mp);
        if (!model) die("cannot load %s", argv[0]);
        char buf[512];
        llama_model_desc(model, buf, sizeof buf);
        fprintf(f, ",\n  \"model_desc\": ");
        json_str(f, buf);
        llama_model_free(model);
    }
    fprintf(f, "\n}\n");
    return 0;
}

static void usage(void) {
    fprintf(stderr,
        "usage:\n"
        "  llama_ref tokenize VOCAB.gguf INP OUT [--add-special] [--parse-special]\n"
        "  llama_ref info [MODEL]\n"
        "env: LLAMA_REF_BINS (dir of the ggml CPU backend .so files), LLAMA_REF_VERBOSE=1 (llama.cpp log)\n");
}

int main(int argc, char ** argv) {
    if (argc < 2) { usage(); return 2; }
    const char * cmd = argv[1];
    if (!strcmp(cmd, "tokenize")) return cmd_tokenize(argc - 2, argv + 2);
    if (!strcmp(cmd, "info")) return cmd_info(argc - 2, argv + 2);
    usage();
    return 2;
}
