// llama_ref — a by-hand driver of llama.cpp (node-llama-cpp's prebuilt libllama) that writes reference outputs
// ("goldens") for jitflow's tests. Build with tools/llama_ref/build.sh; see tools/llama_ref/README.md.
//
//   llama_ref tokenize VOCAB.gguf INP OUT
//   llama_ref decode   MODEL [opts] PROMPT...   --out DIR --n-gen N --n-logits K
//   llama_ref embed    MODEL [opts] PROMPT...   --out DIR --pooling mean|cls|last|none|model
//   llama_ref seq2seq  MODEL [opts] PROMPT...   --out DIR --n-gen N --n-logits K
//   llama_ref bench    MODEL -p 256 -n 32 -t 2 -r 5                  (encoder-decoder: jitflow bench's enc/tg rows;
//                                                                    decoder-only: tg rows, -p 0)
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
#include <time.h>

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

static void mkdir_p(const char * path) {
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

static char * path_join(const char * a, const char * b) {
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
    fprintf(f, "],\n%s  \"cpu_backend_variant\": ", ind);
    {
        const char * v = strstr(g_cpu_libs, "libggml-cpu");
        if (v) {
            const char * e = strchr(v, '\n');
            json_str_n(f, v, e ? (size_t) (e - v) : strlen(v));
        } else {
            fputs("null", f);
        }
    }
    fprintf(f, "\n%s}", ind);
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
// options shared by decode / embed / seq2seq

typedef struct {
    char   id[64];
    char * text;
    size_t len;
} prompt_t;

typedef struct {
    const char * model;
    const char * model_label;   // "model" field of the JSON (default: the path as given)
    const char * out;
    int n_gen, n_logits, n_ctx, threads;
    int pooling;                 // enum llama_pooling_type; -1 = from the model
    bool extra_bufts;            // llama.cpp's CPU weight repacking (default on, as llama-cli)
    prompt_t * prompts;
    int n_prompts;
} opts_t;

static void usage(void);

static void add_prompt(opts_t * o, char * text, size_t len) {
    o->prompts = xrealloc(o->prompts, sizeof(prompt_t) * (size_t) (o->n_prompts + 1));
    prompt_t * p = &o->prompts[o->n_prompts];
    snprintf(p->id, sizeof p->id, "P%d", o->n_prompts + 1);
    p->text = text;
    p->len = len;
    o->n_prompts++;
}

static int parse_int(const char * s, const char * what) {
    char * e;
    long v = strtol(s, &e, 10);
    if (*s == 0 || *e != 0 || v < 0 || v > 1000000) die("bad value for %s: %s", what, s);
    return (int) v;
}

static opts_t parse_opts(const char * mode, int argc, char ** argv) {
    opts_t o;
    memset(&o, 0, sizeof o);
    o.n_gen = 16;
    o.n_logits = 5;
    o.n_ctx = 128;
    o.threads = 1;
    o.pooling = LLAMA_POOLING_TYPE_UNSPECIFIED;
    o.extra_bufts = true;
    const char * ids = NULL;
    for (int i = 0; i < argc; ++i) {
        const char * a = argv[i];
        #define NEXT() (i + 1 < argc ? argv[++i] : (die("%s needs a value", a), (char *) NULL))
        if (!strcmp(a, "--out") || !strcmp(a, "-o")) o.out = NEXT();
        else if (!strcmp(a, "--n-gen")) o.n_gen = parse_int(NEXT(), a);
        else if (!strcmp(a, "--n-logits")) o.n_logits = parse_int(NEXT(), a);
        else if (!strcmp(a, "--n-ctx")) o.n_ctx = parse_int(NEXT(), a);
        else if (!strcmp(a, "--threads") || !strcmp(a, "-t")) o.threads = parse_int(NEXT(), a);
        else if (!strcmp(a, "--model-label")) o.model_label = NEXT();
        else if (!strcmp(a, "--ids")) ids = NEXT();
        else if (!strcmp(a, "--no-repack")) o.extra_bufts = false;
        else if (!strcmp(a, "--prompt-file")) {
            size_t n;
            char * t = read_file(NEXT(), &n);
            add_prompt(&o, t, n);
        } else if (!strcmp(a, "--pooling")) {
            const char * v = NEXT();
            if (!strcmp(v, "none")) o.pooling = LLAMA_POOLING_TYPE_NONE;
            else if (!strcmp(v, "mean")) o.pooling = LLAMA_POOLING_TYPE_MEAN;
            else if (!strcmp(v, "cls")) o.pooling = LLAMA_POOLING_TYPE_CLS;
            else if (!strcmp(v, "last")) o.pooling = LLAMA_POOLING_TYPE_LAST;
            else if (!strcmp(v, "rank")) o.pooling = LLAMA_POOLING_TYPE_RANK;
            else if (!strcmp(v, "model")) o.pooling = LLAMA_POOLING_TYPE_UNSPECIFIED;
            else die("--pooling: none|mean|cls|last|rank|model");
        } else if (!strcmp(a, "--")) {
            for (++i; i < argc; ++i) add_prompt(&o, xstrdup(argv[i]), strlen(argv[i]));
        } else if (a[0] == '-' && a[1] == '-') {
            die("%s: unknown option %s", mode, a);
        } else if (!o.model) {
            o.model = a;
        } else {
            add_prompt(&o, xstrdup(a), strlen(a));
        }
        #undef NEXT
    }
    if (!o.model || !o.out || o.n_prompts == 0) { usage(); exit(2); }
    if (ids) {
        char * s = xstrdup(ids);
        int k = 0;
        for (char * tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
            if (k >= o.n_prompts) die("--ids: more ids than prompts");
            snprintf(o.prompts[k++].id, sizeof o.prompts[0].id, "%s", tok);
        }
        if (k != o.n_prompts) die("--ids: %d ids for %d prompts", k, o.n_prompts);
        free(s);
    }
    for (int i = 0; i < o.n_prompts; ++i) {
        for (const char * c = o.prompts[i].id; *c; ++c) {
            if (!isalnum((unsigned char) *c) && *c != '_' && *c != '-' && *c != '.') die("bad prompt id '%s'", o.prompts[i].id);
        }
    }
    if (o.n_logits > o.n_gen && strcmp(mode, "embed")) die("--n-logits (%d) must be <= --n-gen (%d)", o.n_logits, o.n_gen);
    if (o.threads < 1) o.threads = 1;
    if (!o.model_label) o.model_label = o.model;
    return o;
}

static struct llama_model * load_model(const opts_t * o) {
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    mp.use_extra_bufts = o->extra_bufts;
    struct llama_model * model = llama_model_load_from_file(o->model, mp);
    if (!model) die("cannot load model %s (LLAMA_REF_VERBOSE=1 shows llama.cpp's log)", o->model);
    return model;
}

// gpt2 and bert have a learned position table of n_ctx_train rows: positions beyond it are out of range
static void check_positions(struct llama_model * model, int n_pos, const char * id) {
    const int n_train = llama_model_n_ctx_train(model);
    if (n_pos <= n_train) return;
    char arch[64] = "";
    llama_model_meta_val_str(model, "general.architecture", arch, sizeof arch);
    if (!strcmp(arch, "gpt2") || !strcmp(arch, "bert")) {
        die("%s: %d positions > n_ctx_train %d of this %s model (learned position table)", id, n_pos, n_train, arch);
    }
    fprintf(stderr, "llama_ref: warning: %s: %d positions > n_ctx_train %d\n", id, n_pos, n_train);
}

static struct llama_context * new_context(struct llama_model * model, const opts_t * o, bool embeddings, int pooling) {
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t) o->n_ctx;
    cp.n_batch = cp.n_ubatch = (uint32_t) o->n_ctx;
    cp.n_seq_max = 1;
    cp.n_threads = cp.n_threads_batch = o->threads;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.type_k = cp.type_v = GGML_TYPE_F32;
    cp.embeddings = embeddings;
    cp.pooling_type = (enum llama_pooling_type) pooling;
    cp.no_perf = true;
    struct llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) die("llama_init_from_model failed");
    return ctx;
}

// the header every JSON output starts with (after "{")
static void json_head(FILE * f, const opts_t * o, const char * sha, const char * desc, const char * mode) {
    fprintf(f, "  \"model\": ");
    json_str(f, o->model_label);
    fprintf(f, ",\n  \"model_sha256\": \"%s\",\n", sha);
    fprintf(f, "  \"model_desc\": ");
    json_str(f, desc);
    fprintf(f, ",\n  \"llama_cpp_commit\": \"%s\",\n", LLAMA_REF_COMMIT);
    fprintf(f, "  \"n_ctx\": %d,\n", o->n_ctx);
    fprintf(f, "  \"generator\": \"tools/llama_ref/llama_ref %s\",\n", mode);
    fprintf(f, "  \"context\": {\"n_ctx\": %d, \"n_batch\": %d, \"n_ubatch\": %d, \"n_seq_max\": 1, \"n_threads\": %d, "
               "\"n_threads_batch\": %d, \"flash_attn\": false, \"type_k\": \"f32\", \"type_v\": \"f32\", "
               "\"n_gpu_layers\": 0, \"use_extra_bufts\": %s, \"fresh_context_per_prompt\": true},\n",
            o->n_ctx, o->n_ctx, o->n_ctx, o->threads, o->threads, o->extra_bufts ? "true" : "false");
    json_llama_info(f, "  ");
    fprintf(f, ",\n");
}

static FILE * open_out(const opts_t * o, const char * name) {
    char * p = path_join(o->out, name);
    FILE * f = fopen(p, "wb");
    if (!f) die("cannot write %s: %s", p, strerror(errno));
    free(p);
    return f;
}

// writes rows to OUT/<sub>/<id>.f32 and returns its sha256 in sha
static void write_f32(const opts_t * o, const char * sub, const char * id, const float * data, size_t n, char sha[65]) {
    char * dir = path_join(o->out, sub);
    mkdir_p(dir);
    char name[128];
    snprintf(name, sizeof name, "%s.f32", id);
    char * p = path_join(dir, name);
    FILE * f = fopen(p, "wb");
    if (!f) die("cannot write %s: %s", p, strerror(errno));
    // the host is little-endian (x86-64); the files are raw little-endian float32
    if (fwrite(data, sizeof(float), n, f) != n) die("write %s failed", p);
    fclose(f);
    sha256_mem(data, n * sizeof(float), sha);
    free(p);
    free(dir);
}

static void json_prompt_tokens(FILE * f, const struct llama_vocab * vocab, const prompt_t * p, const tokvec * t) {
    fprintf(f, "\"id\": ");
    json_str(f, p->id);
    fprintf(f, ", \"text\": ");
    json_str_n(f, p->text, p->len);
    fprintf(f, ", \"text_utf8_hex\": ");
    json_hex(f, p->text, p->len);
    fprintf(f, ", \"tokens\": ");
    json_ints(f, t->v, t->n);
    fprintf(f, ", \"pieces\": [");
    for (int k = 0; k < t->n; ++k) {
        int n;
        char * s = token_piece(vocab, t->v[k], true, &n);
        fprintf(f, "%s", k ? ", " : "");
        json_str_n(f, s, (size_t) n);
        free(s);
    }
    fprintf(f, "], \"pieces_hex\": [");
    for (int k = 0; k < t->n; ++k) {
        int n;
        char * s = token_piece(vocab, t->v[k], true, &n);
        fprintf(f, "%s", k ? ", " : "");
        json_hex(f, s, (size_t) n);
        free(s);
    }
    fprintf(f, "]");
}

static void write_tokens_json(const opts_t * o, const char * sha, const char * desc, const char * mode,
                              const struct llama_vocab * vocab, tokvec * toks) {
    FILE * f = open_out(o, "tokens.json");
    fprintf(f, "{\n");
    json_head(f, o, sha, desc, mode);
    fprintf(f, "  \"tokenizer_call\": \"llama_tokenize(vocab, text, len, add_special=true, parse_special=false)\",\n");
    fprintf(f, "  \"pieces_call\": \"llama_token_to_piece(vocab, id, buf, n, lstrip=0, special=true)\",\n");
    fprintf(f, "  \"prompts\": [\n");
    for (int i = 0; i < o->n_prompts; ++i) {
        fprintf(f, "    {");
        json_prompt_tokens(f, vocab, &o->prompts[i], &toks[i]);
        fprintf(f, "}%s\n", i + 1 < o->n_prompts ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
    fclose(f);
}

// greedy pick: argmax (lowest id wins a tie), top1 - top2 margin, top1 value
static int32_t argmax(const float * l, int n, float * margin, float * top) {
    int32_t best = 0;
    for (int i = 1; i < n; ++i) if (l[i] > l[best]) best = i;
    float second = -INFINITY;
    for (int i = 0; i < n; ++i) if (i != best && l[i] > second) second = l[i];
    if (margin) *margin = l[best] - second;
    if (top) *top = l[best];
    return best;
}

// one generation run, shared by decode and seq2seq
typedef struct {
    bool     skipped;
    const char * skip_reason;
    int32_t * gen;        // n_gen
    float   * margins;    // n_gen
    float   * tops;       // n_gen
    float   * rows;       // n_logits * n_vocab
    int32_t * positions;  // n_logits
    int32_t * fed;        // n_logits
    int32_t * row_argmax; // n_logits
    int32_t   dec_start;  // seq2seq only
} gen_result;

static void decode_one(struct llama_context * ctx, const int32_t * toks, int n, int pos0, bool want_last) {
    struct llama_batch b = llama_batch_init(n, 0, 1);
    for (int i = 0; i < n; ++i) {
        b.token[i] = toks[i];
        b.pos[i] = pos0 + i;
        b.n_seq_id[i] = 1;
        b.seq_id[i][0] = 0;
        b.logits[i] = (want_last && i == n - 1) ? 1 : 0;
    }
    b.n_tokens = n;
    int rc = llama_decode(ctx, b);
    if (rc != 0) die("llama_decode failed (%d)", rc);
    llama_batch_free(b);
}

static void generate(struct llama_context * ctx, const opts_t * o, int n_vocab, const int32_t * first, int n_first,
                     int pos0, gen_result * r) {
    // feed `first` (the prompt, or the decoder start token) in one llama_decode, then one token per llama_decode
    decode_one(ctx, first, n_first, pos0, true);
    int pos = pos0 + n_first - 1;
    int32_t fed = first[n_first - 1];
    for (int step = 0; step < o->n_gen; ++step) {
        const float * l = llama_get_logits_ith(ctx, -1);
        if (!l) die("no logits");
        r->gen[step] = argmax(l, n_vocab, &r->margins[step], &r->tops[step]);
        if (step < o->n_logits) {
            memcpy(r->rows + (size_t) step * (size_t) n_vocab, l, sizeof(float) * (size_t) n_vocab);
            r->positions[step] = pos;
            r->fed[step] = fed;
            r->row_argmax[step] = r->gen[step];
        }
        if (step + 1 < o->n_gen) {
            fed = r->gen[step];
            ++pos;
            decode_one(ctx, &fed, 1, pos, true);
        }
    }
}

static void gen_alloc(gen_result * r, const opts_t * o, int n_vocab) {
    memset(r, 0, sizeof *r);
    r->gen = xmalloc(sizeof(int32_t) * (size_t) o->n_gen);
    r->margins = xmalloc(sizeof(float) * (size_t) o->n_gen);
    r->tops = xmalloc(sizeof(float) * (size_t) o->n_gen);
    r->rows = xmalloc(sizeof(float) * (size_t) o->n_logits * (size_t) n_vocab);
    r->positions = xmalloc(sizeof(int32_t) * (size_t) o->n_logits);
    r->fed = xmalloc(sizeof(int32_t) * (size_t) o->n_logits);
    r->row_argmax = xmalloc(sizeof(int32_t) * (size_t) o->n_logits);
    r->dec_start = -1;
}

static void json_detok(FILE * f, const char * key, const struct llama_vocab * vocab, const int32_t * t, int n) {
    int cap = 64 + 64 * n;
    char * buf = xmalloc((size_t) cap);
    int k = llama_detokenize(vocab, t, n, buf, cap, true, false);
    if (k < 0) {
        cap = -k;
        buf = xrealloc(buf, (size_t) cap);
        k = llama_detokenize(vocab, t, n, buf, cap, true, false);
        if (k < 0) die("llama_detokenize failed");
    }
    fprintf(f, ", \"%s\": ", key);
    json_str_n(f, buf, (size_t) k);
    fprintf(f, ", \"%s_hex\": ", key);
    json_hex(f, buf, (size_t) k);
    free(buf);
}

static void write_gen_outputs(const opts_t * o, const char * sha, const char * desc, const char * mode,
                              const struct llama_vocab * vocab, int n_vocab, tokvec * toks, gen_result * res,
                              bool seq2seq) {
    // greedy.json
    FILE * f = open_out(o, "greedy.json");
    fprintf(f, "{\n");
    json_head(f, o, sha, desc, mode);
    fprintf(f, "  \"sampling\": \"greedy: argmax of the raw logits (lowest id wins a tie); no sampler, no penalties; "
               "EOG tokens are NOT treated as stop (exactly n_gen tokens)\",\n");
    fprintf(f, "  \"margins_meaning\": \"margins[i] = top1 - top2 logit at the step that produced gen_tokens[i]\",\n");
    if (seq2seq) {
        fprintf(f, "  \"seq2seq\": \"llama_encode(prompt_tokens) once, then the decoder from decoder_start_token "
                   "(position 0), one token per llama_decode; full_text = llama_detokenize(gen_tokens, "
                   "remove_special=true, unparse_special=false)\",\n");
    }
    fprintf(f, "  \"results\": [\n");
    int first = 1;
    for (int i = 0; i < o->n_prompts; ++i) {
        const prompt_t * p = &o->prompts[i];
        gen_result * r = &res[i];
        fprintf(f, "%s    {\"id\": ", first ? "" : ",\n");
        first = 0;
        json_str(f, p->id);
        fprintf(f, ", \"prompt\": ");
        json_str_n(f, p->text, p->len);
        fprintf(f, ", \"prompt_tokens\": ");
        json_ints(f, toks[i].v, toks[i].n);
        if (r->skipped) {
            fprintf(f, ", \"skipped\": ");
            json_str(f, r->skip_reason);
            fprintf(f, "}");
            continue;
        }
        if (seq2seq) fprintf(f, ", \"decoder_start_token\": %d", r->dec_start);
        fprintf(f, ", \"n_gen\": %d, \"gen_tokens\": ", o->n_gen);
        json_ints(f, r->gen, o->n_gen);
        // gen_text: concatenated pieces (special=false)
        size_t cap = 256, len = 0;
        char * all = xmalloc(cap);
        for (int k = 0; k < o->n_gen; ++k) {
            int n;
            char * s = token_piece(vocab, r->gen[k], false, &n);
            while (len + (size_t) n + 1 > cap) { cap *= 2; all = xrealloc(all, cap); }
            memcpy(all + len, s, (size_t) n);
            len += (size_t) n;
            free(s);
        }
        fprintf(f, ", \"gen_text\": ");
        json_str_n(f, all, len);
        fprintf(f, ", \"gen_text_hex\": ");
        json_hex(f, all, len);
        free(all);
        fprintf(f, ", \"gen_pieces_hex\": [");
        for (int k = 0; k < o->n_gen; ++k) {
            int n;
            char * s = token_piece(vocab, r->gen[k], false, &n);
            fprintf(f, "%s", k ? ", " : "");
            json_hex(f, s, (size_t) n);
            free(s);
        }
        fprintf(f, "]");
        int eog = -1;
        for (int k = 0; k < o->n_gen && eog < 0; ++k) if (llama_vocab_is_eog(vocab, r->gen[k])) eog = k;
        if (eog >= 0) fprintf(f, ", \"first_eog_index\": %d", eog);
        else fprintf(f, ", \"first_eog_index\": null");
        if (seq2seq) {
            json_detok(f, "full_text", vocab, r->gen, o->n_gen);
        } else {
            int nn = toks[i].n + o->n_gen;
            int32_t * all_t = xmalloc(sizeof(int32_t) * (size_t) nn);
            memcpy(all_t, toks[i].v, sizeof(int32_t) * (size_t) toks[i].n);
            memcpy(all_t + toks[i].n, r->gen, sizeof(int32_t) * (size_t) o->n_gen);
            json_detok(f, "full_text", vocab, all_t, nn);
            free(all_t);
        }
        fprintf(f, ", \"margins\": ");
        json_floats(f, r->margins, o->n_gen);
        fprintf(f, ", \"top_logits\": ");
        json_floats(f, r->tops, o->n_gen);
        fprintf(f, "}");
    }
    fprintf(f, "\n  ]\n}\n");
    fclose(f);

    // logits.json + logits/<id>.f32
    f = open_out(o, "logits.json");
    fprintf(f, "{\n");
    json_head(f, o, sha, desc, mode);
    fprintf(f, "  \"dtype\": \"float32\",\n  \"endianness\": \"little\",\n  \"layout\": \"row-major [n_rows, n_vocab], no header\",\n");
    if (seq2seq) {
        fprintf(f, "  \"rows\": \"decoder logits: row 0 = after feeding decoder_start_token at decoder position 0 "
                   "(predicts gen_tokens[0]); row k>=1 = after feeding gen_tokens[k-1] at decoder position k "
                   "(predicts gen_tokens[k]); the encoder ran once on prompt_tokens\",\n");
    } else {
        fprintf(f, "  \"rows\": \"row 0 = logits after the last prompt token (position n_prompt-1, predicts gen_tokens[0]); "
                   "row k>=1 = logits after feeding gen_tokens[k-1] at position n_prompt-1+k (predicts gen_tokens[k])\",\n");
    }
    fprintf(f, "  \"n_vocab\": %d,\n  \"files\": [\n", n_vocab);
    first = 1;
    for (int i = 0; i < o->n_prompts; ++i) {
        gen_result * r = &res[i];
        if (r->skipped) continue;
        const prompt_t * p = &o->prompts[i];
        char shaf[65];
        size_t nfl = (size_t) o->n_logits * (size_t) n_vocab;
        write_f32(o, "logits", p->id, r->rows, nfl, shaf);
        fprintf(f, "%s    {\"id\": ", first ? "" : ",\n");
        first = 0;
        json_str(f, p->id);
        fprintf(f, ", \"file\": \"logits/%s.f32\", \"shape\": [%d, %d], \"bytes\": %zu, \"sha256\": \"%s\", \"positions\": ",
                p->id, o->n_logits, n_vocab, nfl * sizeof(float), shaf);
        json_ints(f, r->positions, o->n_logits);
        fprintf(f, ", \"fed_tokens\": ");
        json_ints(f, r->fed, o->n_logits);
        fprintf(f, ", \"argmax\": ");
        json_ints(f, r->row_argmax, o->n_logits);
        fprintf(f, "}");
    }
    fprintf(f, "\n  ]\n}\n");
    fclose(f);
}

// ---------------------------------------------------------------------------------------------------------------
// mode: decode — greedy continuation of each prompt with a decoder-only model (llama, gpt2, qwen2, ...)

static int cmd_decode_or_seq2seq(const char * mode, int argc, char ** argv, bool seq2seq) {
    opts_t o = parse_opts(mode, argc, argv);
    setup_llama();
    mkdir_p(o.out);
    char sha[65];
    sha256_file(o.model, sha);
    struct llama_model * model = load_model(&o);
    const struct llama_vocab * vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);
    char desc[256];
    llama_model_desc(model, desc, sizeof desc);
    if (seq2seq && !llama_model_has_encoder(model)) die("seq2seq: %s has no encoder (use decode)", o.model);
    if (!seq2seq && llama_model_has_encoder(model)) die("decode: %s has an encoder (use seq2seq)", o.model);
    if (!llama_model_has_decoder(model)) die("%s: model has no decoder", mode);

    tokvec * toks = xmalloc(sizeof(tokvec) * (size_t) o.n_prompts);
    gen_result * res = xmalloc(sizeof(gen_result) * (size_t) o.n_prompts);
    for (int i = 0; i < o.n_prompts; ++i) {
        prompt_t * p = &o.prompts[i];
        toks[i] = tokenize(vocab, p->text, p->len, true, false);
        gen_alloc(&res[i], &o, n_vocab);
        gen_result * r = &res[i];
        if (toks[i].n == 0) {
            r->skipped = true;
            r->skip_reason = "the prompt tokenizes to no tokens: nothing to decode (llama.cpp refuses an empty batch)";
            fprintf(stderr, "llama_ref %s: %s: empty token list, skipped (tokens.json only)\n", mode, p->id);
            continue;
        }
        struct llama_context * ctx = new_context(model, &o, false, LLAMA_POOLING_TYPE_UNSPECIFIED);
        if (seq2seq) {
            if (toks[i].n > o.n_ctx) die("%s: prompt of %d tokens > n_ctx %d", p->id, toks[i].n, o.n_ctx);
            if (o.n_gen > o.n_ctx) die("--n-gen %d > n_ctx %d", o.n_gen, o.n_ctx);
            struct llama_batch b = llama_batch_init(toks[i].n, 0, 1);
            for (int k = 0; k < toks[i].n; ++k) {
                b.token[k] = toks[i].v[k];
                b.pos[k] = k;
                b.n_seq_id[k] = 1;
                b.seq_id[k][0] = 0;
                b.logits[k] = 1;
            }
            b.n_tokens = toks[i].n;
            int rc = llama_encode(ctx, b);
            if (rc != 0) die("llama_encode failed (%d)", rc);
            llama_batch_free(b);
            int32_t start = llama_model_decoder_start_token(model);
            if (start == LLAMA_TOKEN_NULL) start = llama_vocab_bos(vocab);
            if (start == LLAMA_TOKEN_NULL) die("model has neither decoder_start_token_id nor a BOS token");
            r->dec_start = start;
            generate(ctx, &o, n_vocab, &start, 1, 0, r);
        } else {
            if (toks[i].n + o.n_gen > o.n_ctx) die("%s: %d prompt tokens + %d generated > n_ctx %d (raise --n-ctx)",
                                                   p->id, toks[i].n, o.n_gen, o.n_ctx);
            check_positions(model, toks[i].n + o.n_gen - 1, p->id);
            generate(ctx, &o, n_vocab, toks[i].v, toks[i].n, 0, r);
        }
        llama_free(ctx);
        fprintf(stderr, "llama_ref %s: %s: %d prompt tokens, %d generated\n", mode, p->id, toks[i].n, o.n_gen);
    }
    write_tokens_json(&o, sha, desc, mode, vocab, toks);
    write_gen_outputs(&o, sha, desc, mode, vocab, n_vocab, toks, res, seq2seq);
    llama_model_free(model);
    fprintf(stderr, "llama_ref %s: wrote %s/{tokens,greedy,logits}.json and %s/logits/\n", mode, o.out, o.out);
    return 0;
}

// ---------------------------------------------------------------------------------------------------------------
// mode: embed — llama.cpp's embedding mode (context embeddings=true, pooling_type), e.g. for bert

static const char * pooling_name(int p) {
    switch (p) {
        case LLAMA_POOLING_TYPE_NONE: return "none";
        case LLAMA_POOLING_TYPE_MEAN: return "mean";
        case LLAMA_POOLING_TYPE_CLS:  return "cls";
        case LLAMA_POOLING_TYPE_LAST: return "last";
        case LLAMA_POOLING_TYPE_RANK: return "rank";
        default: return "unspecified";
    }
}

static int cmd_embed(int argc, char ** argv) {
    opts_t o = parse_opts("embed", argc, argv);
    setup_llama();
    mkdir_p(o.out);
    char sha[65];
    sha256_file(o.model, sha);
    struct llama_model * model = load_model(&o);
    const struct llama_vocab * vocab = llama_model_get_vocab(model);
    char desc[256];
    llama_model_desc(model, desc, sizeof desc);
    const bool use_encode = llama_model_has_encoder(model) && !llama_model_has_decoder(model);
    if (llama_model_has_encoder(model) && llama_model_has_decoder(model)) die("embed: encoder-decoder model (use seq2seq)");

    tokvec * toks = xmalloc(sizeof(tokvec) * (size_t) o.n_prompts);
    float ** vecs = xmalloc(sizeof(float *) * (size_t) o.n_prompts);
    int * rows = xmalloc(sizeof(int) * (size_t) o.n_prompts);
    int pooling = o.pooling, n_out = 0;
    for (int i = 0; i < o.n_prompts; ++i) {
        prompt_t * p = &o.prompts[i];
        toks[i] = tokenize(vocab, p->text, p->len, true, false);
        vecs[i] = NULL;
        rows[i] = 0;
        if (toks[i].n == 0) {
            fprintf(stderr, "llama_ref embed: %s: empty token list, skipped\n", p->id);
            continue;
        }
        if (toks[i].n > o.n_ctx) die("%s: %d tokens > n_ctx %d", p->id, toks[i].n, o.n_ctx);
        check_positions(model, toks[i].n, p->id);
        struct llama_context * ctx = new_context(model, &o, true, o.pooling);
        pooling = llama_pooling_type(ctx);
        n_out = pooling == LLAMA_POOLING_TYPE_RANK ? (int) llama_model_n_cls_out(model) : llama_model_n_embd_out(model);
        struct llama_batch b = llama_batch_init(toks[i].n, 0, 1);
        for (int k = 0; k < toks[i].n; ++k) {
            b.token[k] = toks[i].v[k];
            b.pos[k] = k;
            b.n_seq_id[k] = 1;
            b.seq_id[k][0] = 0;
            b.logits[k] = 1;  // output every token (needed for pooling none; pooling uses all tokens anyway)
        }
        b.n_tokens = toks[i].n;
        int rc = use_encode ? llama_encode(ctx, b) : llama_decode(ctx, b);
        if (rc != 0) die("llama_%s failed (%d)", use_encode ? "encode" : "decode", rc);
        llama_batch_free(b);
        if (pooling == LLAMA_POOLING_TYPE_NONE) {
            rows[i] = toks[i].n;
            vecs[i] = xmalloc(sizeof(float) * (size_t) rows[i] * (size_t) n_out);
            for (int k = 0; k < toks[i].n; ++k) {
                const float * e = llama_get_embeddings_ith(ctx, k);
                if (!e) die("llama_get_embeddings_ith(%d) returned NULL", k);
                memcpy(vecs[i] + (size_t) k * (size_t) n_out, e, sizeof(float) * (size_t) n_out);
            }
        } else {
            rows[i] = 1;
            const float * e = llama_get_embeddings_seq(ctx, 0);
            if (!e) die("llama_get_embeddings_seq returned NULL");
            vecs[i] = xmalloc(sizeof(float) * (size_t) n_out);
            memcpy(vecs[i], e, sizeof(float) * (size_t) n_out);
        }
        llama_free(ctx);
        fprintf(stderr, "llama_ref embed: %s: %d tokens, pooling %s, %d x %d\n", p->id, toks[i].n, pooling_name(pooling), rows[i], n_out);
    }
    write_tokens_json(&o, sha, desc, "embed", vocab, toks);

    FILE * f = open_out(&o, "embeddings.json");
    fprintf(f, "{\n");
    json_head(f, &o, sha, desc, "embed");
    fprintf(f, "  \"pooling\": \"%s\",\n  \"pooling_requested\": \"%s\",\n", pooling_name(pooling),
            o.pooling == LLAMA_POOLING_TYPE_UNSPECIFIED ? "model" : pooling_name(o.pooling));
    fprintf(f, "  \"call\": \"context embeddings=true, pooling_type as above; the whole prompt in one %s with every "
               "token an output; pooled: llama_get_embeddings_seq(ctx, 0); none: llama_get_embeddings_ith(ctx, i) per "
               "token. Raw values: llama.cpp does not normalize them (llama-embedding's --embd-normalize does, not the "
               "library)\",\n", use_encode ? "llama_encode" : "llama_decode");
    fprintf(f, "  \"dtype\": \"float32\",\n  \"endianness\": \"little\",\n  \"layout\": \"row-major [n_rows, n_embd], no header; "
               "pooled: 1 row; none: one row per prompt token\",\n");
    fprintf(f, "  \"files\": [\n");
    int first = 1;
    for (int i = 0; i < o.n_prompts; ++i) {
        const prompt_t * p = &o.prompts[i];
        if (!vecs[i]) continue;
        char shaf[65];
        size_t n = (size_t) rows[i] * (size_t) n_out;
        write_f32(&o, "embd", p->id, vecs[i], n, shaf);
        double ss = 0;
        for (size_t k = 0; k < n; ++k) ss += (double) vecs[i][k] * vecs[i][k];
        fprintf(f, "%s    {\"id\": ", first ? "" : ",\n");
        first = 0;
        json_str(f, p->id);
        fprintf(f, ", \"tokens\": ");
        json_ints(f, toks[i].v, toks[i].n);
        fprintf(f, ", \"file\": \"embd/%s.f32\", \"shape\": [%d, %d], \"bytes\": %zu, \"sha256\": \"%s\", \"l2_norm\": ",
                p->id, rows[i], n_out, n * sizeof(float), shaf);
        json_float(f, sqrt(ss));
        fprintf(f, ", \"first_values\": ");
        json_floats(f, vecs[i], n < 8 ? (int) n : 8);
        fprintf(f, "}");
    }
    fprintf(f, "\n  ]\n}\n");
    fclose(f);
    llama_model_free(model);
    fprintf(stderr, "llama_ref embed: wrote %s/{tokens,embeddings}.json and %s/embd/\n", o.out, o.out);
    return 0;
}

// ---------------------------------------------------------------------------------------------------------------
// mode: bench — llama.cpp's side of `jitflow bench` for encoder-decoder models (T5): the same tests, the same ids,
// the same protocol (tools/jitflow/bench.h), so that the two tools' rows compare one to one.
//
//   enc<P>: one llama_encode of one sequence of P ids: jitflow's bench_sequence_ids (the seeded LCG ids with the
//           tokens the tokenizer adds around a text in their places: for T5 no prefix and </s> last);
//           t/s = P / time, ms/seq = median time.
//   tg<N>:  over the encoding of the first enc sequence (encoded once, untimed), the decoder KV cache cleared,
//           then N llama_decode calls of one token each (logits of that token), the first the decoder start
//           token, the others the seeded ids (bench_token_ids(seed, N, n_vocab) with id 0 replaced);
//           t/s = N / time.
// Each test: one untimed warm-up run, then -r timed runs; a row gives mean ± sd of t/s over the runs and the
// median (tokens / median time), as jitflow bench does. Context as jitflow's engines: max of all P and N rounded
// up to a multiple of 256 (no more than n_ctx_train when the tests fit it), n_batch = n_ubatch = n_ctx, one
// sequence, F32 KV cache, flash attention off, exactly -t threads for both batch and single-token calls.

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

static int cmp_double(const void * a, const void * b) {
    const double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y ? 1 : 0;
}

// the 64-bit LCG of jitflow's bench_token_ids (tools/jitflow/bench.cpp) and bench/peer/llama_bench.mjs
static void bench_token_ids(uint64_t seed, int n, int n_vocab, int32_t * ids) {
    uint64_t state = seed;
    for (int i = 0; i < n; ++i) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        ids[i] = (int32_t) ((state >> 33) % (uint64_t) (n_vocab > 0 ? n_vocab : 1));
    }
}

static int parse_int_list(const char * s, const char * what, int * out, int cap) {
    char * c = xstrdup(s);
    int n = 0;
    for (char * tok = strtok(c, ","); tok; tok = strtok(NULL, ",")) {
        if (n >= cap) die("%s: at most %d values", what, cap);
        out[n++] = parse_int(tok, what);
    }
    free(c);
    if (n == 0) die("%s: no values", what);
    return n;
}

typedef struct {
    int n_prompt, n_gen;  // an enc test: n_prompt > 0, n_gen == 0; a tg test: the reverse
    double * samples_ns;
    int n_samples;
} bench_row;

static double row_median_ns(const bench_row * r) {
    double * s = xmalloc(sizeof(double) * (size_t) r->n_samples);
    memcpy(s, r->samples_ns, sizeof(double) * (size_t) r->n_samples);
    qsort(s, (size_t) r->n_samples, sizeof(double), cmp_double);
    const int n = r->n_samples;
    const double m = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    free(s);
    return m;
}

static void row_ts(const bench_row * r, double * mean, double * sd) {
    const double tokens = (double) (r->n_prompt + r->n_gen);
    double sum = 0, sq = 0;
    for (int i = 0; i < r->n_samples; ++i) sum += tokens * 1e9 / r->samples_ns[i];
    *mean = sum / r->n_samples;
    for (int i = 0; i < r->n_samples; ++i) {
        const double d = tokens * 1e9 / r->samples_ns[i] - *mean;
        sq += d * d;
    }
    *sd = r->n_samples > 1 ? sqrt(sq / (r->n_samples - 1)) : 0;
}

static void bench_encode(struct llama_context * ctx, const int32_t * ids, int n) {
    struct llama_batch b = llama_batch_init(n, 0, 1);
    for (int k = 0; k < n; ++k) {
        b.token[k] = ids[k];
        b.pos[k] = k;
        b.n_seq_id[k] = 1;
        b.seq_id[k][0] = 0;
        b.logits[k] = 1;
    }
    b.n_tokens = n;
    int rc = llama_encode(ctx, b);
    if (rc != 0) die("llama_encode failed (%d)", rc);
    llama_batch_free(b);
}

static void bench_generate(struct llama_context * ctx, struct llama_batch * b, const int32_t * ids, int n) {
    llama_memory_clear(llama_get_memory(ctx), true);  // a fresh decoder KV cache; the encoding (cross) stays
    for (int i = 0; i < n; ++i) {
        b->token[0] = ids[i];
        b->pos[0] = i;
        int rc = llama_decode(ctx, *b);
        if (rc != 0) die("llama_decode failed (%d)", rc);
    }
}

static int cmd_bench(int argc, char ** argv) {
    const char * model_path = NULL;
    int n_prompt[16], n_gen[16];
    int np = parse_int_list("256", "-p", n_prompt, 16), ng = parse_int_list("32", "-n", n_gen, 16);
    int threads = 1, reps = 5, n_ctx = 0;
    uint64_t seed = 1234;
    bool extra_bufts = true;
    for (int i = 0; i < argc; ++i) {
        const char * a = argv[i];
        #define NEXT() (i + 1 < argc ? argv[++i] : (die("%s needs a value", a), (char *) NULL))
        if (!strcmp(a, "-p") || !strcmp(a, "--n-prompt")) np = parse_int_list(NEXT(), a, n_prompt, 16);
        else if (!strcmp(a, "-n") || !strcmp(a, "--n-gen")) ng = parse_int_list(NEXT(), a, n_gen, 16);
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) threads = parse_int(NEXT(), a);
        else if (!strcmp(a, "-r") || !strcmp(a, "--repetitions")) reps = parse_int(NEXT(), a);
        else if (!strcmp(a, "--seed")) seed = (uint64_t) strtoull(NEXT(), NULL, 10);
        else if (!strcmp(a, "--n-ctx")) n_ctx = parse_int(NEXT(), a);
        else if (!strcmp(a, "--no-repack")) extra_bufts = false;
        else if (!strcmp(a, "-m") || !strcmp(a, "--model")) model_path = NEXT();
        else if (a[0] == '-') die("bench: unknown option %s", a);
        else if (!model_path) model_path = a;
        else die("bench: one model only (got %s)", a);
        #undef NEXT
    }
    if (!model_path) { usage(); exit(2); }
    if (threads < 1) die("bench: -t must be >= 1");
    if (reps < 1) die("bench: -r must be >= 1");
    setup_llama();

    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    mp.use_extra_bufts = extra_bufts;
    struct llama_model * model = llama_model_load_from_file(model_path, mp);
    if (!model) die("cannot load model %s (LLAMA_REF_VERBOSE=1 shows llama.cpp's log)", model_path);
    // decoder-only models: tg rows only, from BOS (as bench/peer/llama_bench.mjs runs them), for the
    // loader settings node-llama-cpp does not expose (--no-repack: weights stay in the mmapped file)
    const bool encoder = llama_model_has_encoder(model);
    if (!llama_model_has_decoder(model)) die("bench: %s is an encoder-only model", model_path);
    const struct llama_vocab * vocab = llama_model_get_vocab(model);
    const int n_vocab = llama_vocab_n_tokens(vocab);
    int32_t start = llama_model_decoder_start_token(model);
    if (start == LLAMA_TOKEN_NULL) start = llama_vocab_bos(vocab);
    if (start == LLAMA_TOKEN_NULL) die("model has neither decoder_start_token_id nor a BOS token");

    // the tokens the tokenizer puts around a text (jitflow's special_ids: "a" tokenized with and without them)
    tokvec plain = tokenize(vocab, "a", 1, false, false), full = tokenize(vocab, "a", 1, true, false);
    int n_pre = -1;
    for (int at = 0; plain.n > 0 && at + plain.n <= full.n && n_pre < 0; ++at) {
        if (!memcmp(full.v + at, plain.v, sizeof(int32_t) * (size_t) plain.n)) n_pre = at;
    }
    if (n_pre < 0) n_pre = 0, full.n = plain.n = 0;
    const int n_suf = full.n - n_pre - plain.n;

    int longest = 1;
    for (int i = 0; i < np; ++i) longest = n_prompt[i] > longest ? n_prompt[i] : longest;
    for (int i = 0; i < ng; ++i) longest = n_gen[i] > longest ? n_gen[i] : longest;
    if (n_ctx == 0) {
        n_ctx = (longest + 255) / 256 * 256;
        const int n_train = llama_model_n_ctx_train(model);
        if (n_train > 0 && longest <= n_train && n_ctx > n_train) n_ctx = n_train;
    }
    if (longest > n_ctx) die("bench: a test of %d tokens > n_ctx %d", longest, n_ctx);

    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t) n_ctx;
    cp.n_batch = cp.n_ubatch = (uint32_t) n_ctx;
    cp.n_seq_max = 1;
    cp.n_threads = cp.n_threads_batch = threads;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.type_k = cp.type_v = GGML_TYPE_F32;
    cp.no_perf = true;
    struct llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) die("llama_init_from_model failed");

    bench_row rows[32];
    int n_rows = 0;
    int32_t * first_seq = NULL;
    int first_n = 0;
    for (int i = 0; i < np; ++i) {
        const int p = n_prompt[i];
        if (p <= 0) continue;
        if (!encoder) die("bench: -p %d: decoder-only models get tg rows only here (-p 0)", p);
        if (p <= n_pre + n_suf) die("bench: enc%d: a sequence needs more tokens than its special ones", p);
        int32_t * ids = xmalloc(sizeof(int32_t) * (size_t) p);
        bench_token_ids(seed, p, n_vocab, ids);
        memcpy(ids, full.v, sizeof(int32_t) * (size_t) n_pre);
        memcpy(ids + p - n_suf, full.v + n_pre + plain.n, sizeof(int32_t) * (size_t) n_suf);
        bench_row * r = &rows[n_rows++];
        r->n_prompt = p;
        r->n_gen = 0;
        r->n_samples = reps;
        r->samples_ns = xmalloc(sizeof(double) * (size_t) reps);
        fprintf(stderr, "llama_ref bench: enc%d ids %d,%d,%d,...,%d,%d (%d prefix, %d suffix special tokens)\n", p, ids[0],
                p > 1 ? ids[1] : -1, p > 2 ? ids[2] : -1, p > 1 ? ids[p - 2] : -1, ids[p - 1], n_pre, n_suf);
        bench_encode(ctx, ids, p);  // warm-up
        for (int k = 0; k < reps; ++k) {
            const double t0 = now_ns();
            bench_encode(ctx, ids, p);
            r->samples_ns[k] = now_ns() - t0;
        }
        fprintf(stderr, "llama_ref bench: enc%d done\n", p);
        if (!first_seq) first_seq = ids, first_n = p;
        else free(ids);
    }
    if (encoder) {
        if (!first_seq) die("bench: the decoder's tg<N> rows attend to the encoding of the first -p sequence, and no -p value is > 0");
        bench_encode(ctx, first_seq, first_n);
    } else {
        start = llama_vocab_bos(vocab);
    }
    struct llama_batch one = llama_batch_init(1, 0, 1);  // one token of sequence 0, its logits wanted
    one.n_tokens = 1;
    one.n_seq_id[0] = 1;
    one.seq_id[0][0] = 0;
    one.logits[0] = 1;
    for (int i = 0; i < ng; ++i) {
        const int n = n_gen[i];
        if (n <= 0) continue;
        int32_t * ids = xmalloc(sizeof(int32_t) * (size_t) n);
        bench_token_ids(seed, n, n_vocab, ids);
        ids[0] = start;
        bench_row * r = &rows[n_rows++];
        r->n_prompt = 0;
        r->n_gen = n;
        r->n_samples = reps;
        r->samples_ns = xmalloc(sizeof(double) * (size_t) reps);
        bench_generate(ctx, &one, ids, n);  // warm-up
        for (int k = 0; k < reps; ++k) {
            const double t0 = now_ns();
            bench_generate(ctx, &one, ids, n);
            r->samples_ns[k] = now_ns() - t0;
        }
        fprintf(stderr, "llama_ref bench: tg%d done\n", n);
        free(ids);
    }

    // the table (the columns of jitflow bench's markdown, less GB/s and %BW)
    char desc[256];
    llama_model_desc(model, desc, sizeof desc);
    const char * base = strrchr(model_path, '/');
    base = base ? base + 1 : model_path;
    g_cpu_libs[0] = 0;
    dl_iterate_phdr(phdr_cb, NULL);
    const char * variant = strstr(g_cpu_libs, "libggml-cpu");
    char variant_name[128] = "cpu";
    if (variant) {
        const char * e = strchr(variant, '\n');
        size_t len = e ? (size_t) (e - variant) : strlen(variant);
        if (len >= sizeof variant_name) len = sizeof variant_name - 1;
        memcpy(variant_name, variant, len);
        variant_name[len] = 0;
    }
    printf("| model | size | params | backend | threads | test | t/s | median t/s | ms/seq |\n");
    printf("| ----- | ---: | -----: | ------- | ------: | ---: | --: | ---------: | -----: |\n");
    for (int i = 0; i < n_rows; ++i) {
        const bench_row * r = &rows[i];
        double mean, sd;
        row_ts(r, &mean, &sd);
        const double med = row_median_ns(r);
        char test[32];
        snprintf(test, sizeof test, r->n_gen ? "tg%d" : "enc%d", r->n_gen ? r->n_gen : r->n_prompt);
        char ms[32] = "";
        if (!r->n_gen) snprintf(ms, sizeof ms, "%.1f", med / 1e6);
        printf("| %s | %.2f MiB | %.2f M | llama.cpp %s | %d | %s | %.2f ± %.2f | %.2f | %s |\n", base,
               (double) llama_model_size(model) / 1048576.0, (double) llama_model_n_params(model) / 1e6, variant_name,
               threads, test, mean, sd, (r->n_prompt + r->n_gen) * 1e9 / med, ms);
    }
    printf("\nllama.cpp %s (node-llama-cpp %s, bundle %.8s), %s | n_ctx %d, n_batch = n_ubatch = n_ctx | KV cache f32 "
           "| flash attention off (jitflow's attention is fused: a different algorithm, not a setting) | weight "
           "repacking %s | %d untimed warm-up + %d timed runs\n",
           LLAMA_REF_RELEASE, LLAMA_REF_NLC_VERSION, LLAMA_REF_COMMIT, desc, n_ctx, extra_bufts ? "on" : "off", 1,
           reps);
    printf("enc<P>: one llama_encode of P ids (seeded ids, the tokenizer's suffix - for T5 </s> - last); t/s = P / time, ms/seq = median time | "
           "tg<N>: decoder KV cleared, N llama_decode of one token (decoder start token first) over the encoding "
           "of the first enc sequence; t/s = N / time\n");
    free(first_seq);
    llama_batch_free(one);
    llama_free(ctx);
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
        mp.n_gpu_layers = 0;
        struct llama_model * model = llama_model_load_from_file(argv[0], mp);
        if (!model) die("cannot load %s", argv[0]);
        char buf[512], arch[64] = "";
        llama_model_desc(model, buf, sizeof buf);
        llama_model_meta_val_str(model, "general.architecture", arch, sizeof arch);
        fprintf(f, ",\n  \"model_desc\": ");
        json_str(f, buf);
        fprintf(f, ",\n  \"architecture\": ");
        json_str(f, arch);
        fprintf(f, ",\n  \"n_vocab\": %d, \"n_embd\": %d, \"n_ctx_train\": %d, \"has_encoder\": %s, \"has_decoder\": %s, "
                   "\"decoder_start_token\": %d, \"bos\": %d, \"eos\": %d",
                llama_vocab_n_tokens(llama_model_get_vocab(model)), llama_model_n_embd(model), llama_model_n_ctx_train(model),
                llama_model_has_encoder(model) ? "true" : "false", llama_model_has_decoder(model) ? "true" : "false",
                llama_model_decoder_start_token(model), llama_vocab_bos(llama_model_get_vocab(model)),
                llama_vocab_eos(llama_model_get_vocab(model)));
        llama_model_free(model);
    }
    fprintf(f, "\n}\n");
    return 0;
}

static void usage(void) {
    fprintf(stderr,
        "usage:\n"
        "  llama_ref tokenize VOCAB.gguf INP OUT [--add-special] [--parse-special]\n"
        "  llama_ref decode  MODEL PROMPT... --out DIR [--n-gen N] [--n-logits K]\n"
        "  llama_ref seq2seq MODEL PROMPT... --out DIR [--n-gen N] [--n-logits K]\n"
        "  llama_ref embed   MODEL PROMPT... --out DIR [--pooling mean|cls|last|none|rank|model]\n"
        "  llama_ref bench   MODEL [-p 256[,P..]] [-n 32[,N..]] [-t 1] [-r 5] [--seed 1234] [--n-ctx N] [--no-repack]\n"
        "                    (encoder-decoder models: enc<P> / tg<N> rows as jitflow bench's)\n"
        "  llama_ref info [MODEL]\n"
        "common options: --prompt-file F (a prompt with F's exact bytes), --ids P1,P2,.. (default P1..Pn),\n"
        "  --model-label STR (the JSON 'model' field), --n-ctx N (128), --threads N (1), --no-repack,\n"
        "  -- (all following arguments are prompts)\n"
        "defaults: --n-gen 16 --n-logits 5; F32 KV cache, flash attention off, CPU only, a fresh context per prompt\n"
        "env: LLAMA_REF_BINS (dir of the ggml CPU backend .so files), LLAMA_REF_VERBOSE=1 (llama.cpp log)\n");
}

int main(int argc, char ** argv) {
    if (argc < 2) { usage(); return 2; }
    const char * cmd = argv[1];
    if (!strcmp(cmd, "tokenize")) return cmd_tokenize(argc - 2, argv + 2);
    if (!strcmp(cmd, "info")) return cmd_info(argc - 2, argv + 2);
    if (!strcmp(cmd, "decode")) return cmd_decode_or_seq2seq("decode", argc - 2, argv + 2, false);
    if (!strcmp(cmd, "seq2seq")) return cmd_decode_or_seq2seq("seq2seq", argc - 2, argv + 2, true);
    if (!strcmp(cmd, "embed")) return cmd_embed(argc - 2, argv + 2);
    if (!strcmp(cmd, "bench")) return cmd_bench(argc - 2, argv + 2);
    usage();
    return 2;
}
