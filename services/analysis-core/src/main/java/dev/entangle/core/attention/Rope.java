package dev.entangle.core.attention;

/**
 * Rotary position embedding as HF transformers' Llama applies it (default rope type,
 * {@code rotate_half} convention): inv_freq_i = 1/θ^(2i/d), angles pos·inv_freq repeated
 * for both halves, x' = x·cos + rotate_half(x)·sin with rotate_half(x) = [−x₂, x₁].
 *
 * <p>The tables are formed with float32 rounding, as the model forms them (inv_freq, the
 * angles and cos/sin are float32 tensors there), so rebuilt attention matches the model's own
 * to float32 round-off; everything after is accumulated in double.
 */
public final class Rope {

    private final int headDim;
    private final double[][] cos;
    private final double[][] sin;

    /** Tables for the given positions (one per token). */
    public Rope(int headDim, double theta, long[] positions) {
        if (headDim % 2 != 0) throw new IllegalArgumentException("head_dim must be even for RoPE, got " + headDim);
        this.headDim = headDim;
        int half = headDim / 2;
        float[] invFreq = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / headDim;               // arange(0, d, 2).float() / d
            float base = (float) Math.pow(theta, exponent);          // base ** exponent in float32
            invFreq[i] = 1.0f / base;
        }
        cos = new double[positions.length][headDim];
        sin = new double[positions.length][headDim];
        for (int t = 0; t < positions.length; t++) {
            for (int i = 0; i < half; i++) {
                float angle = invFreq[i] * (float) positions[t];     // float32 outer product
                double c = (float) Math.cos(angle);
                double s = (float) Math.sin(angle);
                cos[t][i] = c;
                cos[t][i + half] = c;
                sin[t][i] = s;
                sin[t][i + half] = s;
            }
        }
    }

    /** Positions 0..T−1. */
    public static long[] positions(int tokens) {
        long[] p = new long[tokens];
        for (int i = 0; i < tokens; i++) p[i] = i;
        return p;
    }

    /**
     * Rotates head {@code head} of a [T, heads·d] row-major matrix, returning that head as
     * [T, d] row-major.
     */
    public double[] rotateHead(double[] x, int tokens, int heads, int head) {
        int d = headDim;
        int half = d / 2;
        int width = heads * d;
        double[] out = new double[tokens * d];
        for (int t = 0; t < tokens; t++) {
            int src = t * width + head * d;
            for (int i = 0; i < d; i++) {
                double rotated = i < half ? -x[src + i + half] : x[src + i - half];
                out[t * d + i] = x[src + i] * cos[t][i] + rotated * sin[t][i];
            }
        }
        return out;
    }
}
