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
        Layer layer = new Layer(q, k, tokens, heads, kvHeads, headDim, rope, causal);
        double[][] rotatedKeys = new double[kvHeads][];
        for (int g = 0; g < kvHeads; g++) rotatedKeys[g] = rope.rotateHead(k, tokens, kvHeads, g);
        double[][] out = new double[heads][];
        for (int h = 0; h < heads; h++) out[h] = layer.head(h, rotatedKeys[h / (heads / kvHeads)]);
        return out;
    }

    /**
     * One layer's projections, from which a head's attention is rebuilt when it is asked for, so
     * that a caller profiling the heads one by one (or a few side by side) holds a few T × T
     * matrices at a time rather than all H of them.
     *
     * @param q q_raw [T, H·d] row-major
     * @param k k_raw [T, KV·d] row-major
     */
    public record Layer(double[] q, double[] k, int tokens, int heads, int kvHeads, int headDim, Rope rope, boolean causal) {

        public Layer {
            if (heads % kvHeads != 0) throw new IllegalArgumentException(heads + " query heads do not group over " + kvHeads + " key/value heads");
        }

        /** A_h, [T, T] row-major, rows summing to 1. */
        public double[] head(int h) {
            return head(h, rope.rotateHead(k, tokens, kvHeads, h / (heads / kvHeads)));
        }

        private double[] head(int h, double[] kg) {
            double[] qh = rope.rotateHead(q, tokens, heads, h);
            double scale = 1 / Math.sqrt(headDim);
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
            return a;
        }
    }
}
