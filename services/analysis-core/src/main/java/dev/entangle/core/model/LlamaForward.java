package dev.entangle.core.model;

import dev.entangle.core.CheckpointException;
import dev.entangle.core.attention.AttentionProbe;
import dev.entangle.core.attention.Rope;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.checkpoint.CheckpointKind;
import dev.entangle.core.engine.LinearAlgebra;

import java.util.stream.IntStream;

/**
 * The forward pass of a Llama-family decoder as HF transformers' modeling_llama computes it in
 * float32, from the token embeddings up to the last layer's attention (nothing after it is
 * needed): per layer, h → RMSNorm → q, k, v projections (bias where attention_bias) → RoPE
 * (rotate_half, {@link Rope}) → per head A = softmax(q kᵀ/√d + causal mask) with grouped-query
 * attention (head h reads key/value head h / (H/KV)) → A v, the heads concatenated (attn_output)
 * → o_proj, added to h → RMSNorm → SwiGLU MLP down(silu(gate(x))·up(x)), added to h.
 *
 * <p>Storage and every GEMM are float32 ({@link LinearAlgebra#multiplyFloat}); sums whose
 * rounding would show are taken in double: RMSNorm's mean square (then rounded, as torch's
 * float32 mean is), and the softmax's exponentials and row sums. Elementwise steps round as the
 * model's float32 tensors do (x·cos + rotate_half(x)·sin, w·(x·rsqrt(var + ε)), silu(g)·u).
 *
 * <p>Memory: one decoder layer's weights (streamed by {@link ModelWeights}) and the activations
 * of one layer; each layer's captures are handed to the {@link ProbeSink} as they are made.
 */
public final class LlamaForward {

    private final LlamaConfig c;
    private final ModelWeights weights;
    private final LinearAlgebra la;

    public LlamaForward(LlamaConfig config, ModelWeights weights, LinearAlgebra la) {
        this.c = config;
        this.weights = weights;
        this.la = la;
    }

    /**
     * The model of a checkpoint: a full model runs on its own weights and config.json; an adapter
     * (LoRA, MPS) on its base's, with its ΔW merged in, so it needs the base.
     */
    public static LlamaForward of(Checkpoint ckpt, Checkpoint base, LinearAlgebra la) {
        if (ckpt.kind() == CheckpointKind.FULL_MODEL) {
            LlamaConfig config = LlamaConfig.parse(ckpt.dir().resolve(Checkpoint.MODEL_CONFIG), ckpt.config());
            return new LlamaForward(config, ModelWeights.of(config, ckpt, null, la), la);
        }
        if (base == null) {
            throw new CheckpointException(ckpt.dir(), null, "missing base for the forward pass",
                    "a " + ckpt.kind().method() + " adapter holds only its ΔW; give --base BASE_DIR, the base model (W0) it was trained on");
        }
        if (base.kind() != CheckpointKind.FULL_MODEL) {
            throw new CheckpointException(base.dir(), null, "base is not a full model", "the base is a " + base.kind().method() + " checkpoint");
        }
        LlamaConfig config = LlamaConfig.parse(base.dir().resolve(Checkpoint.MODEL_CONFIG), base.config());
        return new LlamaForward(config, ModelWeights.of(config, base, ckpt, la), la);
    }

    public LlamaConfig config() { return c; }

    /** Runs the probe sequence through every decoder layer, capturing each into {@code sink}. */
    public void run(ProbeTokens tokens, ProbeSink sink) {
        tokens.requireFits(c);
        int t = tokens.length();
        if (c.slidingWindow() != null && t > c.slidingWindow()) {
            throw new CheckpointException(tokens.origin(), tokens.field(), "probe longer than the sliding window",
                    "T = " + t + " > sliding_window " + c.slidingWindow() + " of " + c.file() + ": the windowed mask is not the causal one");
        }
        int heads = c.heads(), kvHeads = c.kvHeads(), d = c.headDim();
        long[] positions = Rope.positions(t);
        Rope rope = new Rope(d, c.rope(), positions);
        sink.start(new AttentionProbe.Geometry(t, heads, kvHeads, d, c.rope(), true), tokens.ids(), positions);
        float scaling = (float) Math.pow(d, -0.5);   // head_dim ** -0.5
        try {
            pass(tokens, sink, rope, scaling);
        } finally {
            weights.release();
        }
    }

    private void pass(ProbeTokens tokens, ProbeSink sink, Rope rope, float scaling) {
        int t = tokens.length();
        int hidden = c.hidden(), heads = c.heads(), kvHeads = c.kvHeads(), d = c.headDim();
        int qw = c.qWidth(), kvw = c.kvWidth(), group = c.group();
        int f = c.intermediate();
        // every activation buffer is made once and refilled layer after layer (a 1B model at T = 1024
        // would otherwise make half a GB of garbage per layer)
        float[] h = weights.embeddings(tokens.ids());
        float[] x = new float[t * hidden], q = new float[t * qw], k = new float[t * kvw], v = new float[t * kvw];
        float[] qRaw = new float[t * qw], kRaw = new float[t * kvw], out = new float[t * qw];
        float[][] attention = new float[heads][t * t];
        boolean mlp = c.layers() > 1;
        float[] proj = mlp ? new float[t * hidden] : null, gate = mlp ? new float[t * f] : null, up = mlp ? new float[t * f] : null;
        for (int layer = 0; layer < c.layers(); layer++) {
            boolean last = layer == c.layers() - 1;
            ModelWeights.Layer w = weights.layer(layer, last);
            rmsNorm(h, w.inputNorm(), t, hidden, x);
            linear(x, w.q(), w.qBias(), t, hidden, qw, q);
            linear(x, w.k(), w.kBias(), t, hidden, kvw, k);
            linear(x, w.v(), w.vBias(), t, hidden, kvw, v);
            System.arraycopy(q, 0, qRaw, 0, q.length);
            System.arraycopy(k, 0, kRaw, 0, k.length);
            rope.rotate(q, heads);
            rope.rotate(k, kvHeads);

            for (int head = 0; head < heads; head++) {
                // (q_h k_gᵀ) · scaling, a T × T product over head_dim
                la.multiplyFloat(false, true, t, t, d, scaling, q, head * d, qw, k, (head / group) * d, kvw, 0f, attention[head], 0, t);
            }
            IntStream.range(0, heads).parallel().forEach(head -> causalSoftmax(attention[head], t));
            for (int head = 0; head < heads; head++) {
                // A_h v_g into the head's columns of attn_output
                la.multiplyFloat(false, false, t, d, t, 1f, attention[head], 0, t, v, (head / group) * d, kvw, 0f, out, head * d, qw);
            }
            sink.layer(new ProbeSink.LayerCapture(layer, qRaw, kRaw, attention, out));
            if (!last) {
                linear(out, w.o(), w.oBias(), t, qw, hidden, proj);
                add(h, proj);                                           // h = residual + o_proj(attn_output)
                rmsNorm(h, w.postNorm(), t, hidden, x);
                linear(x, w.gate(), w.gateBias(), t, hidden, f, gate);
                linear(x, w.up(), w.upBias(), t, hidden, f, up);
                swiGlu(gate, up);
                linear(gate, w.down(), w.downBias(), t, f, hidden, proj);
                add(h, proj);                                           // h = residual + mlp(x)
            }
        }
    }

    /**
     * The GEMM flops of one pass over T tokens, 2·m·n·k per product (the full T × T score and
     * value products, the causal half included, as they are computed): the benchmark's count.
     */
    public static double gemmFlops(LlamaConfig c, int t) {
        double proj = (double) c.hidden() * (c.qWidth() + 2L * c.kvWidth());              // q, k, v
        double rest = (double) c.qWidth() * c.hidden() + 3.0 * c.hidden() * c.intermediate();   // o, gate, up, down
        double attention = 2.0 * c.heads() * t * (double) t * c.headDim();                   // scores and A·v
        return 2.0 * t * (c.layers() * proj + (c.layers() - 1) * rest) + 2.0 * c.layers() * attention;
    }

    /** y = x Wᵀ + b for x [T, in], W [out, in]: nn.Linear, into y [T, out]. */
    private void linear(float[] x, float[] w, float[] bias, int t, int in, int out, float[] y) {
        la.multiplyFloat(false, true, t, out, in, 1f, x, 0, in, w, 0, in, 0f, y, 0, out);
        if (bias != null) {
            for (int i = 0; i < t; i++) {
                int row = i * out;
                for (int j = 0; j < out; j++) y[row + j] += bias[j];
            }
        }
    }

    /**
     * LlamaRMSNorm in float32: var = mean(x²) (summed in double, rounded to float32), then
     * w · (x · rsqrt(var + ε)), each product rounded.
     */
    private void rmsNorm(float[] h, float[] weight, int t, int n, float[] y) {
        float eps = (float) c.rmsEps();
        IntStream.range(0, t).parallel().forEach(i -> {
            int row = i * n;
            double sum = 0;
            for (int j = 0; j < n; j++) {
                double v = h[row + j];
                sum += v * v;
            }
            float variance = (float) (sum / n);
            float r = (float) (1.0 / Math.sqrt(variance + eps));
            for (int j = 0; j < n; j++) y[row + j] = weight[j] * (h[row + j] * r);
        });
    }

    /**
     * Softmax of each row over the causal window j ≤ i (later entries exactly 0, as the mask's
     * −∞ makes them), the exponentials and their sum in double, each weight rounded to float32.
     */
    static void causalSoftmax(float[] a, int t) {
        double[] e = new double[t];
        for (int i = 0; i < t; i++) {
            int row = i * t;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j <= i; j++) max = Math.max(max, a[row + j]);
            double sum = 0;
            for (int j = 0; j <= i; j++) {
                e[j] = Math.exp((double) a[row + j] - max);
                sum += e[j];
            }
            for (int j = 0; j <= i; j++) a[row + j] = (float) (e[j] / sum);
            java.util.Arrays.fill(a, row + i + 1, row + t, 0f);
        }
    }

    /** gate ← silu(gate) · up, silu(g) = g / (1 + e^−g), in place. */
    private static void swiGlu(float[] gate, float[] up) {
        int chunk = 1 << 14;
        IntStream.range(0, (gate.length + chunk - 1) / chunk).parallel().forEach(b -> {
            int end = Math.min(gate.length, (b + 1) * chunk);
            for (int i = b * chunk; i < end; i++) {
                float g = gate[i];
                float silu = (float) (g / (1.0 + Math.exp(-(double) g)));
                gate[i] = silu * up[i];
            }
        });
    }

    /** h ← h + y, float32 (the residual connection). */
    private static void add(float[] h, float[] y) {
        for (int i = 0; i < h.length; i++) h[i] += y[i];
    }
}
