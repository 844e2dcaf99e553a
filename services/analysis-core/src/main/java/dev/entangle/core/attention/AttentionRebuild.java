package dev.entangle.core.attention;

/**
 * Attention matrices rebuilt from the pre-RoPE projections (paper Appendix X A, eq. 84–86):
 * A_h = softmax(RoPE(q_h)·RoPE(k_g)ᵀ/√d + mask), with grouped-query attention (query head h
 * reads key head g = h / (H/KV)) and the causal mask (j > i excluded) or none.
 */
public final class AttentionRebuild {

    private AttentionRebuild() {}

    /**
     * @param q      q_raw [T, H·d] row-major
     * @param k      k_raw [T, KV·d] row-major
     * @return A_h for every head, each [T, T] row-major, rows summing to 1
     */
    public static double[][] heads(double[] q, double[] k, int tokens, int heads, int kvHeads, int headDim, Rope rope,
                                   boolean causal) {
        if (heads % kvHeads != 0) throw new IllegalArgumentException(heads + " query heads do not group over " + kvHeads + " key/value heads");
        int group = heads / kvHeads;
        double[][] rotatedKeys = new double[kvHeads][];
        for (int g = 0; g < kvHeads; g++) rotatedKeys[g] = rope.rotateHead(k, tokens, kvHeads, g);
        double scale = 1 / Math.sqrt(headDim);
        double[][] out = new double[heads][];
        for (int h = 0; h < heads; h++) {
            double[] qh = rope.rotateHead(q, tokens, heads, h);
            double[] kg = rotatedKeys[h / group];
            double[] a = new double[tokens * tokens];
            for (int i = 0; i < tokens; i++) {
                int last = causal ? i : tokens - 1;
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= last; j++) {
                    double s = 0;
                    for (int c = 0; c < headDim; c++) s += qh[i * headDim + c] * kg[j * headDim + c];
                    s *= scale;
                    a[i * tokens + j] = s;
                    if (s > max) max = s;
                }
                double sum = 0;
                for (int j = 0; j <= last; j++) {
                    double e = Math.exp(a[i * tokens + j] - max); // stable softmax
                    a[i * tokens + j] = e;
                    sum += e;
                }
                for (int j = 0; j <= last; j++) a[i * tokens + j] /= sum;
                // masked entries stay exactly 0
            }
            out[h] = a;
        }
        return out;
    }
}
