#!/usr/bin/env python3
"""An independent model of the sampler's contract (src/model/sampler.h), written from that contract
and not from the C++ code: softmax at the temperature over the candidates that top-k, then top-p,
then min-p keep, one splitmix64 uniform per draw, and e^x evaluated the way the contract pins it
(IEEE double, x = k ln2 + r, Taylor series of e^r to r^13, exact scaling by 2^k).

It recomputes the token ids that sampler_test.cpp's FixedSeedGivesTheSameTokensEverywhere pins and
checks them against that file, so that those ids are not just whatever the C++ code printed.

Usage: sampler_reference.py SAMPLER_TEST_CPP      (exit 0: every pinned list agrees)
"""
import math
import re
import struct
import sys

MASK64 = (1 << 64) - 1


def f32(x):
    """Rounds a double to the nearest float32 (what a float variable holds)."""
    return struct.unpack("f", struct.pack("f", x))[0]


def test_logits(n):
    """sampler_test.cpp's test_logits: an LCG, then float32 arithmetic (exact here: see f32)."""
    logits, x = [], 12345
    for _ in range(n):
        x = (x * 1664525 + 1013904223) & 0xFFFFFFFF
        logits.append(f32(f32(f32((x >> 8) % 8001) / f32(1000.0)) - f32(4.0)))
    return logits


INV_FACT = [1.0]
for i in range(1, 14):
    INV_FACT.append(INV_FACT[-1] / i)


def exp_nonpositive(x):
    if x < -700.0:
        return 0.0
    log2e = 1.4426950408889634
    ln2_high, ln2_low = 6.93147180369123816490e-01, 1.90821492927058770002e-10
    k = math.floor(x * log2e + 0.5)
    r = (x - k * ln2_high) - k * ln2_low
    poly = INV_FACT[13]
    for i in range(12, -1, -1):
        poly = poly * r + INV_FACT[i]
    return poly * math.ldexp(1.0, int(k))


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK64

    def uniform(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        z ^= z >> 31
        return (z >> 11) * 2.0**-53


def rank_key(c):  # higher logit first, then the lower id
    return (-c[0], c[1])


def sample(logits, rng, temperature, top_k, top_p, min_p):
    cands = [(l, i) for i, l in enumerate(logits)]
    # top-k: the k best, best first; without it only the best moves to the front (sums below run
    # over the candidates in this order).
    if 0 < top_k < len(cands):
        cands = sorted(cands, key=rank_key)[:top_k]
    else:
        best = min(range(len(cands)), key=lambda j: rank_key(cands[j]))
        cands[0], cands[best] = cands[best], cands[0]
    # top-p at temperature 1: the shortest best-first run whose mass reaches top_p of the total.
    if top_p < 1.0:
        top = cands[0][0]
        total = sum(exp_nonpositive(l - top) for l, _ in cands)
        target = top_p * total
        ordered, mass = sorted(cands, key=rank_key), 0.0
        for n, (l, _) in enumerate(ordered):
            mass += exp_nonpositive(l - top)
            if mass >= target:
                ordered = ordered[: n + 1]
                break
        cands = ordered
    # min-p at temperature 1: drop p_i / p_best < min_p (the best always stays).
    if min_p > 0:
        top = cands[0][0]
        cands = cands[:1] + [c for c in cands[1:] if not exp_nonpositive(c[0] - top) < min_p]
    top = cands[0][0]
    weights = [exp_nonpositive((l - top) / temperature) for l, _ in cands]
    target = rng.uniform() * sum(weights)
    mass, last = 0.0, cands[0][1]
    for w, (_, token) in zip(weights, cands):
        if w == 0:
            continue
        mass += w
        last = token
        if target < mass:
            return token
    return last


def draws(seed, n, temperature, top_k, top_p, min_p, n_vocab=5000):
    logits, rng = test_logits(n_vocab), SplitMix64(seed)
    args = (f32(temperature), top_k, f32(top_p), f32(min_p))
    return [sample(logits, rng, *args) for _ in range(n)]


# The cases of FixedSeedGivesTheSameTokensEverywhere: name of the pinned list -> its settings.
CASES = {
    "expected_with_filters": dict(seed=1234, temperature=0.8, top_k=40, top_p=0.95, min_p=0.05),
    "expected_plain": dict(seed=1234, temperature=1.0, top_k=0, top_p=1.0, min_p=0.0),
    "expected_nucleus": dict(seed=99, temperature=1.5, top_k=0, top_p=0.97, min_p=0.0),
}


def pinned_lists(cpp_text):
    lists = {}
    for name in CASES:
        m = re.search(name + r"\s*=\s*\{([^}]*)\}", cpp_text)
        lists[name] = [int(v) for v in m.group(1).replace("\n", " ").split(",")] if m else None
    return lists


def main():
    pinned = pinned_lists(open(sys.argv[1]).read())
    failed = False
    for name, settings in CASES.items():
        want = draws(n=12, **settings)
        got = pinned[name]
        status = "agrees" if got == want else "DIFFERS"
        failed |= got != want
        print(f"{name}: reference {want}; sampler_test.cpp {got}: {status}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
