package dev.entangle.core.attention;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.entangle.core.CheckpointException;

import java.nio.file.Path;
import java.util.List;

/**
 * Rotary position embedding as HF transformers' Llama applies it ({@code rotate_half}
 * convention): inverse frequencies inv_freq_i by the checkpoint's rope type, angles
 * pos·inv_freq repeated for both halves, x' = x·cos + rotate_half(x)·sin with
 * rotate_half(x) = [−x₂, x₁]. The one place for the rule: the forward pass rotates its float32
 * q and k with it and the attention rebuild its float64 copies.
 *
 * <p>Every number is formed with float32 rounding, as the model forms it (inv_freq, the angles
 * and cos/sin are float32 tensors there, whatever the model's dtype), so rebuilt attention
 * matches the model's own to float32 round-off.
 */
public final class Rope {

    /** The rope types of Llama-family checkpoints this rotation reproduces. */
    public static final List<String> TYPES = List.of("default", "linear", "dynamic", "llama3");

    /**
     * A checkpoint's rope parameters, with HF's names (modeling_rope_utils.py): {@code rope_type},
     * {@code rope_theta}; linear and dynamic add {@code factor} (dynamic NTK also reads
     * max_position_embeddings); llama3 adds {@code factor}, {@code low_freq_factor},
     * {@code high_freq_factor} and {@code original_max_position_embeddings}. Unused values are NaN / 0.
     */
    public record Scaling(String type, double theta, double factor, double lowFreqFactor, double highFreqFactor,
                          int originalMaxPositions, int maxPositions) {

        /** The original RoPE with base θ. */
        public static Scaling standard(double theta) {
            return new Scaling("default", theta, Double.NaN, Double.NaN, Double.NaN, 0, 0);
        }

        /**
         * From a config.json: transformers 5's {@code rope_parameters} (with rope_theta inside),
         * else the older {@code rope_scaling} beside a top-level {@code rope_theta}; the type key is
         * {@code rope_type}, or the older {@code type}; no parameters at all is the default type
         * with θ = rope_theta (10000 where absent, LlamaConfig's default).
         */
        public static Scaling fromConfig(Path file, JsonNode config) {
            JsonNode v5 = config.get("rope_parameters");
            JsonNode params;
            String where;
            double theta;
            if (v5 != null && !v5.isNull()) {
                if (!v5.isObject()) throw new CheckpointException(file, null, "invalid rope parameters", "rope_parameters is not an object");
                params = v5;
                where = "rope_parameters";
                theta = number(file, config, "rope_theta", "rope_theta", 10000);
                theta = number(file, v5, "rope_theta", where + ".rope_theta", theta);
            } else {
                JsonNode old = config.get("rope_scaling");
                if (old != null && !old.isNull() && !old.isObject()) {
                    throw new CheckpointException(file, null, "invalid rope parameters", "rope_scaling is not an object");
                }
                params = old == null || old.isNull() ? JsonNodeFactory.instance.objectNode() : old;
                where = "rope_scaling";
                theta = number(file, config, "rope_theta", "rope_theta", 10000);
            }
            for (String perLayer : List.of("full_attention", "sliding_attention")) {
                if (params.has(perLayer)) {
                    throw new CheckpointException(file, null, "unsupported rope_type", where + " is given per layer type ('" + perLayer
                            + "'): Llama-family models use one rotary embedding");
                }
            }
            String type = params.hasNonNull("rope_type") ? params.get("rope_type").asText()
                    : params.hasNonNull("type") ? params.get("type").asText() : "default";
            if (!TYPES.contains(type)) {
                throw new CheckpointException(file, null, "unsupported rope_type",
                        where + ".rope_type is '" + type + "' (the forward pass reproduces " + String.join(", ", TYPES) + ")");
            }
            double partial = number(file, params, "partial_rotary_factor", where + ".partial_rotary_factor",
                    number(file, config, "partial_rotary_factor", "partial_rotary_factor", 1));
            if (partial != 1) {
                throw new CheckpointException(file, null, "unsupported rope parameter",
                        "partial_rotary_factor " + partial + ": Llama-family models rotate the whole head");
            }
            if (!(theta > 0) || Double.isInfinite(theta)) {
                throw new CheckpointException(file, null, "invalid rope parameters", "rope_theta must be a positive number, got " + theta);
            }
            int maxPositions = config.hasNonNull("max_position_embeddings") ? config.get("max_position_embeddings").asInt() : 0;
            return switch (type) {
                case "default" -> standard(theta);
                case "linear" -> new Scaling(type, theta, factor(file, params, where), Double.NaN, Double.NaN, 0, 0);
                case "dynamic" -> {
                    if (maxPositions < 1) {
                        throw new CheckpointException(file, null, "rope parameter missing", "dynamic NTK RoPE needs max_position_embeddings");
                    }
                    yield new Scaling(type, theta, factor(file, params, where), Double.NaN, Double.NaN, 0, maxPositions);
                }
                default -> {   // llama3
                    double low = required(file, params, "low_freq_factor", where);
                    double high = required(file, params, "high_freq_factor", where);
                    double original = required(file, params, "original_max_position_embeddings", where);
                    if (!(high > low)) {
                        throw new CheckpointException(file, null, "invalid rope parameters",
                                where + ": high_freq_factor " + high + " must exceed low_freq_factor " + low);
                    }
                    if (!(original >= 1) || original != Math.rint(original)) {
                        throw new CheckpointException(file, null, "invalid rope parameters",
                                where + ".original_max_position_embeddings must be a positive integer, got " + original);
                    }
                    yield new Scaling(type, theta, factor(file, params, where), low, high, (int) original, 0);
                }
            };
        }

        /**
         * As a config fragment: {@code rope_parameters} with HF's names and, where the type reads
         * it, {@code max_position_embeddings}; {@link #fromConfig} reads it back.
         */
        public ObjectNode toConfig() {
            ObjectNode cfg = JsonNodeFactory.instance.objectNode();
            ObjectNode p = cfg.putObject("rope_parameters");
            p.put("rope_type", type);
            p.put("rope_theta", theta);
            if (!Double.isNaN(factor)) p.put("factor", factor);
            if (!Double.isNaN(lowFreqFactor)) p.put("low_freq_factor", lowFreqFactor);
            if (!Double.isNaN(highFreqFactor)) p.put("high_freq_factor", highFreqFactor);
            if (originalMaxPositions > 0) p.put("original_max_position_embeddings", originalMaxPositions);
            if (maxPositions > 0) cfg.put("max_position_embeddings", maxPositions);
            return cfg;
        }

        private static double factor(Path file, JsonNode params, String where) {
            double f = required(file, params, "factor", where);
            if (!(f > 0) || Double.isInfinite(f)) {
                throw new CheckpointException(file, null, "invalid rope parameters", where + ".factor must be a positive number, got " + f);
            }
            return f;
        }

        private static double required(Path file, JsonNode params, String key, String where) {
            if (!params.hasNonNull(key)) {
                throw new CheckpointException(file, null, "rope parameter missing",
                        where + " has no " + key + " (rope_type " + params.path("rope_type").asText(params.path("type").asText()) + ")");
            }
            return number(file, params, key, where + "." + key, Double.NaN);
        }

        private static double number(Path file, JsonNode node, String key, String field, double fallback) {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) return fallback;
            if (!v.isNumber()) throw new CheckpointException(file, null, "invalid rope parameters", field + " is not a number: " + v);
            return v.doubleValue();
        }
    }

    private final int headDim;
    private final int tokens;
    /** cos and sin per token, both halves: [T, d] row-major, float32 values. */
    private final float[] cos;
    private final float[] sin;

    /** Tables of the default rope type with base θ, for the given positions (one per token). */
    public Rope(int headDim, double theta, long[] positions) {
        this(headDim, Scaling.standard(theta), positions);
    }

    /** Tables of the checkpoint's rope type for the given positions (one per token). */
    public Rope(int headDim, Scaling scaling, long[] positions) {
        if (headDim % 2 != 0) throw new IllegalArgumentException("head_dim must be even for RoPE, got " + headDim);
        this.headDim = headDim;
        this.tokens = positions.length;
        int half = headDim / 2;
        long maxPosition = -1;
        for (long p : positions) maxPosition = Math.max(maxPosition, p);
        float[] invFreq = inverseFrequencies(headDim, scaling, maxPosition + 1);
        cos = new float[tokens * headDim];
        sin = new float[tokens * headDim];
        for (int t = 0; t < tokens; t++) {
            for (int i = 0; i < half; i++) {
                float angle = invFreq[i] * (float) positions[t];     // float32 outer product inv_freq @ position_ids
                float c = (float) Math.cos(angle);                   // emb.cos() × attention_scaling (1 for these types)
                float s = (float) Math.sin(angle);
                cos[t * headDim + i] = c;
                cos[t * headDim + i + half] = c;
                sin[t * headDim + i] = s;
                sin[t * headDim + i + half] = s;
            }
        }
    }

    /**
     * inv_freq of a rope type in float32, as transformers computes it (modeling_rope_utils.py and
     * LlamaRotaryEmbedding.compute_default_rope_parameters), for a sequence of {@code seqLen}
     * positions (dynamic NTK's only input beyond the config):
     * <ul>
     *   <li>default: 1 / θ^(2i/d);</li>
     *   <li>linear: the default divided by factor;</li>
     *   <li>dynamic: the default with θ' = θ·(factor·L/L_max − (factor − 1))^(d/(d−2)), where
     *       L = max(seqLen, max_position_embeddings): the default frequencies up to L_max;</li>
     *   <li>llama3: wavelengths 2π/inv_freq above original_max/low_freq_factor are divided by
     *       factor, those below original_max/high_freq_factor kept, and in between interpolated
     *       with s = (original_max/λ − low)/(high − low): (1 − s)·f/factor + s·f.</li>
     * </ul>
     */
    public static float[] inverseFrequencies(int headDim, Scaling scaling, long seqLen) {
        int half = headDim / 2;
        double base = scaling.theta();
        if (scaling.type().equals("dynamic")) {
            long len = Math.max(seqLen, scaling.maxPositions());
            base = base * Math.pow(scaling.factor() * len / scaling.maxPositions() - (scaling.factor() - 1),
                    (double) headDim / (headDim - 2));
        }
        float baseF = (float) base;                                    // a Python float meets a float32 tensor
        float[] invFreq = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / headDim;                // arange(0, d, 2).float() / d
            invFreq[i] = 1.0f / (float) Math.pow(baseF, exponent);    // 1.0 / base ** exponent, float32
        }
        switch (scaling.type()) {
            case "linear" -> {
                float f = (float) scaling.factor();
                for (int i = 0; i < half; i++) invFreq[i] /= f;
            }
            case "llama3" -> llama3(invFreq, scaling);
            default -> { }
        }
        return invFreq;
    }

    /** _compute_llama3_parameters, each step a float32 tensor operation in its order. */
    private static void llama3(float[] invFreq, Scaling s) {
        float factor = (float) s.factor();
        float low = (float) s.lowFreqFactor();
        float oldContext = s.originalMaxPositions();
        float lowFreqWavelen = (float) (s.originalMaxPositions() / s.lowFreqFactor());
        float highFreqWavelen = (float) (s.originalMaxPositions() / s.highFreqFactor());
        float twoPi = (float) (2 * Math.PI);
        float span = (float) (s.highFreqFactor() - s.lowFreqFactor());
        for (int i = 0; i < invFreq.length; i++) {
            float f = invFreq[i];
            float wavelen = twoPi / f;
            float scaled = wavelen > lowFreqWavelen ? f / factor : f;
            boolean medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
            if (medium) {
                float smooth = (oldContext / wavelen - low) / span;
                scaled = (1 - smooth) * scaled / factor + smooth * scaled;
            }
            invFreq[i] = scaled;
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
     * [T, d] row-major, accumulated in double.
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
                out[t * d + i] = x[src + i] * cos[t * d + i] + rotated * sin[t * d + i];
            }
        }
        return out;
    }

    /**
     * Rotates every head of a [T, heads·d] row-major float32 matrix in place, in float32 as the
     * model does: (x·cos) + (rotate_half(x)·sin), each product and the sum rounded.
     */
    public void rotate(float[] x, int heads) {
        int d = headDim;
        int half = d / 2;
        int width = heads * d;
        if (x.length != tokens * width) throw new IllegalArgumentException(x.length + " values are not [" + tokens + ", " + width + "]");
        float[] row = new float[d];
        for (int t = 0; t < tokens; t++) {
            int table = t * d;
            for (int h = 0; h < heads; h++) {
                int at = t * width + h * d;
                System.arraycopy(x, at, row, 0, d);
                for (int i = 0; i < d; i++) {
                    float rotated = i < half ? -row[i + half] : row[i - half];
                    float a = row[i] * cos[table + i];
                    float b = rotated * sin[table + i];
                    x[at + i] = a + b;
                }
            }
        }
    }
}
