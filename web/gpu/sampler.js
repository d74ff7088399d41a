// Sampling from the candidates a WebGPU pass leaves (wgsl_top_k: the plan's top_k logits, best
// first): temperature, then top-p over them, then a draw from a seeded generator, so a seed repeats
// a run. Temperature 0 is greedy (the first candidate).
//   runner.generate(prompt, n, onToken, null, topKSampler({ temperature: 0.8, topP: 0.95, seed: 1 }))

// mulberry32: a small seeded generator of floats in [0, 1).
function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Returns sample({ indices, values }) -> token.
export function topKSampler({ temperature = 0.8, topP = 0.95, topK = Infinity, seed = 0 } = {}) {
  const random = generator(seed);
  return ({ indices, values }) => {
    if (temperature <= 0) return indices[0];
    const n = Math.min(topK, indices.length);
    const weights = [];
    let sum = 0;
    for (let i = 0; i < n; i++) {
      weights.push(Math.exp((values[i] - values[0]) / temperature));
      sum += weights[i];
    }
    let kept = 0, mass = 0;
    while (kept < n && mass < topP * sum) mass += weights[kept++];
    let r = random() * mass;
    for (let i = 0; i < kept; i++) {
      r -= weights[i];
      if (r < 0) return indices[i];
    }
    return indices[kept - 1];
  };
}
