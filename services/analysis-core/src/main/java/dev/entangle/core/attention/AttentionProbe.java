package dev.entangle.core.attention;

import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.entangle.core.CheckpointException;
import dev.entangle.core.safetensors.DType;
import dev.entangle.core.safetensors.TensorInfo;
import dev.entangle.core.safetensors.TensorSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An attention probe ({@code attention_probe.safetensors}): one evaluation sequence of T tokens
 * run through the checkpoint's model, per layer i {@code layers.{i}.q_raw} [T, H·d],
 * {@code layers.{i}.k_raw} [T, KV·d] (before RoPE), {@code layers.{i}.attn_output} [T, H·d]
 * and optionally the model's own softmax {@code layers.{i}.attn_weights} [H, T, T], with the
 * sequence's {@code input_ids} and {@code position_ids} [1, T];
 * {@code __metadata__} gives rope_theta, rope_type, num_heads, num_kv_heads, head_dim,
 * seq_len, causal, and for a rope type other than the default {@code rope_parameters} (the
 * config's parameters as JSON, HF's names) and {@code max_position_embeddings}. Everything is
 * checked against the declared geometry when opened, so a bad probe is refused before any
 * profile is computed.
 */
public final class AttentionProbe {

    /** The declared attention geometry. */
    public record Geometry(int tokens, int heads, int kvHeads, int headDim, Rope.Scaling rope, boolean causal) {
        public double ropeTheta() { return rope.theta(); }

        public String ropeType() { return rope.type(); }
    }

    /** The metadata keys of a probe. */
    public static final String SEQ_LEN = "seq_len", NUM_HEADS = "num_heads", NUM_KV_HEADS = "num_kv_heads", HEAD_DIM = "head_dim",
            ROPE_TYPE = "rope_type", ROPE_THETA = "rope_theta", ROPE_PARAMETERS = "rope_parameters",
            MAX_POSITIONS = "max_position_embeddings", CAUSAL = "causal";
    /** The sequence's tensors, [1, T] integers. */
    public static final String INPUT_IDS = "input_ids", POSITION_IDS = "position_ids";

    /** The names of a layer's tensors. */
    public static String qRaw(int layer) { return "layers." + layer + ".q_raw"; }

    public static String kRaw(int layer) { return "layers." + layer + ".k_raw"; }

    public static String attnWeights(int layer) { return "layers." + layer + ".attn_weights"; }

    public static String attnOutput(int layer) { return "layers." + layer + ".attn_output"; }

    /** The metadata of a probe of this geometry: the keys {@link #of} reads. */
    public static Map<String, String> metadata(Geometry g) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(SEQ_LEN, Integer.toString(g.tokens()));
        m.put(NUM_HEADS, Integer.toString(g.heads()));
        m.put(NUM_KV_HEADS, Integer.toString(g.kvHeads()));
        m.put(HEAD_DIM, Integer.toString(g.headDim()));
        m.put(ROPE_TYPE, g.ropeType());
        m.put(ROPE_THETA, Double.toString(g.ropeTheta()));
        if (!g.ropeType().equals("default")) {
            var cfg = g.rope().toConfig();
            m.put(ROPE_PARAMETERS, cfg.get(ROPE_PARAMETERS).toString());
            if (cfg.has(MAX_POSITIONS)) m.put(MAX_POSITIONS, cfg.get(MAX_POSITIONS).asText());
        }
        m.put(CAUSAL, Boolean.toString(g.causal()));
        return m;
    }

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final Pattern LAYER_TENSOR = Pattern.compile("layers\\.(\\d+)\\.(q_raw|k_raw|attn_output|attn_weights)");

    private final TensorSource src;
    private final Geometry geometry;
    private final int[] layers;
    private final long[] positions;

    private AttentionProbe(TensorSource src, Geometry geometry, int[] layers, long[] positions) {
        this.src = src;
        this.geometry = geometry;
        this.layers = layers;
        this.positions = positions;
    }

    /** Reads and checks a probe; the caller keeps ownership of {@code src}. */
    public static AttentionProbe of(TensorSource src) {
        Path file = src.location();
        Map<String, String> meta = src.metadata();
        int heads = intMeta(file, meta, NUM_HEADS);
        int kvHeads = intMeta(file, meta, NUM_KV_HEADS);
        int headDim = intMeta(file, meta, HEAD_DIM);
        int tokens = intMeta(file, meta, SEQ_LEN);
        Rope.Scaling rope = rope(file, meta);
        String causalText = meta.getOrDefault(CAUSAL, "true");
        if (!causalText.equals("true") && !causalText.equals("false")) {
            throw new CheckpointException(file, null, "bad probe metadata", "causal must be true or false, got '" + causalText + "'");
        }
        if (heads % kvHeads != 0) {
            throw new CheckpointException(file, null, "bad probe metadata",
                    "num_heads " + heads + " is not a multiple of num_kv_heads " + kvHeads + " (grouped-query attention)");
        }
        if (headDim % 2 != 0) throw new CheckpointException(file, null, "bad probe metadata", "head_dim " + headDim + " is odd: RoPE rotates pairs");
        if (tokens < 2) throw new CheckpointException(file, null, "bad probe metadata", "seq_len " + tokens + " leaves no bipartition");
        Geometry g = new Geometry(tokens, heads, kvHeads, headDim, rope, Boolean.parseBoolean(causalText));

        TreeSet<Integer> found = new TreeSet<>();
        for (String n : src.names()) {
            Matcher m = LAYER_TENSOR.matcher(n);
            if (m.matches()) found.add(Integer.parseInt(m.group(1)));
        }
        if (found.isEmpty()) throw new CheckpointException(file, null, "probe has no layers", "no layers.{i}.q_raw/k_raw/attn_output tensors");
        for (int layer : found) {
            requireShape(src, qRaw(layer), tokens, (long) heads * headDim, true);
            requireShape(src, kRaw(layer), tokens, (long) kvHeads * headDim, true);
            requireShape(src, attnOutput(layer), tokens, -1, true);
            String w = attnWeights(layer);
            if (src.contains(w)) {
                long[] s = src.info(w).shape();
                if (s.length != 3 || s[0] != heads || s[1] != tokens || s[2] != tokens) {
                    throw new CheckpointException(file, w, "probe shape mismatch",
                            "expected [num_heads, seq_len, seq_len] = [" + heads + ", " + tokens + ", " + tokens + "], got " + java.util.Arrays.toString(s));
                }
            }
        }
        long[] positions = Rope.positions(tokens);
        if (src.contains(POSITION_IDS)) {
            TensorInfo info = src.info(POSITION_IDS);
            if (info.elementCount() != tokens) {
                throw new CheckpointException(file, POSITION_IDS, "probe shape mismatch",
                        info.elementCount() + " positions for seq_len " + tokens);
            }
            double[] p = src.readDoubles(POSITION_IDS);
            for (int i = 0; i < tokens; i++) positions[i] = (long) p[i];
        }
        return new AttentionProbe(src, g, found.stream().mapToInt(Integer::intValue).toArray(), positions);
    }

    public Geometry geometry() { return geometry; }

    public Path location() { return src.location(); }

    /** The decoder layers the probe covers, ascending. */
    public int[] layers() { return layers.clone(); }

    /** Whether the model's own attention was captured for this layer. */
    public boolean hasCapturedAttention(int layer) { return src.contains(attnWeights(layer)); }

    /** The captured attention of every head, each [T, T] row-major. */
    public Optional<double[][]> capturedAttention(int layer) {
        if (!hasCapturedAttention(layer)) return Optional.empty();
        int t2 = geometry.tokens() * geometry.tokens();
        double[][] out = new double[geometry.heads()][];
        if (src.info(attnWeights(layer)).dtype() == DType.F64) {
            double[] all = src.readDoubles(attnWeights(layer));
            for (int h = 0; h < out.length; h++) out[h] = java.util.Arrays.copyOfRange(all, h * t2, (h + 1) * t2);
        } else {
            // float32 (or narrower) values are exact in float: half the transient memory of reading them as double
            float[] all = src.readFloats(attnWeights(layer));
            for (int h = 0; h < out.length; h++) {
                double[] a = new double[t2];
                for (int i = 0; i < t2; i++) a[i] = all[h * t2 + i];
                out[h] = a;
            }
        }
        return Optional.of(out);
    }

    /**
     * The captured attention of one head, [T, T] row-major, reading only that head (a 1B model's
     * layer holds 32 of 1024² each).
     */
    public double[] capturedHead(int layer, int head) {
        String name = attnWeights(layer);
        if (!hasCapturedAttention(layer)) throw new CheckpointException(src.location(), name, "probe tensor missing", "no captured attention");
        if (head < 0 || head >= geometry.heads()) throw new IllegalArgumentException("head " + head + " of " + geometry.heads());
        int t2 = geometry.tokens() * geometry.tokens();
        if (src.info(name).dtype() == DType.F64) {
            return java.util.Arrays.copyOfRange(src.readDoubles(name), head * t2, (head + 1) * t2);
        }
        float[] f = src.readRowsFloat(name, new int[]{head});   // float32 (or narrower) values are exact in float
        double[] a = new double[t2];
        for (int i = 0; i < t2; i++) a[i] = f[i];
        return a;
    }

    /** Attention of every head rebuilt from q_raw/k_raw (RoPE, GQA), causal or unmasked. */
    public double[][] rebuiltAttention(int layer, boolean causal) {
        requireLayer(layer);
        Geometry g = geometry;
        Rope rope = new Rope(g.headDim(), g.rope(), positions);
        return AttentionRebuild.heads(src.readDoubles(qRaw(layer)), src.readDoubles(kRaw(layer)),
                g.tokens(), g.heads(), g.kvHeads(), g.headDim(), rope, causal);
    }

    /** A layer's q_raw/k_raw, read once, from which each head's attention is rebuilt when asked for. */
    public AttentionRebuild.Layer rebuiltLayer(int layer, boolean causal) {
        requireLayer(layer);
        Geometry g = geometry;
        return new AttentionRebuild.Layer(src.readDoubles("layers." + layer + ".q_raw"), src.readDoubles("layers." + layer + ".k_raw"),
                g.tokens(), g.heads(), g.kvHeads(), g.headDim(), new Rope(g.headDim(), g.ropeTheta(), positions), causal);
    }

    /** X = attn_output [T, width] row-major. */
    public double[] output(int layer) {
        requireLayer(layer);
        return src.readDoubles(attnOutput(layer));
    }

    public int outputWidth(int layer) {
        return (int) src.info(attnOutput(layer)).dim(1);
    }

    private void requireLayer(int layer) {
        for (int l : layers) if (l == layer) return;
        throw new CheckpointException(src.location(), "layers." + layer, "probe has no such layer", "layers present: " + java.util.Arrays.toString(layers));
    }

    private static void requireShape(TensorSource src, String name, long rows, long cols, boolean required) {
        if (!src.contains(name)) {
            if (required) throw new CheckpointException(src.location(), name, "probe tensor missing", "every probed layer needs q_raw, k_raw and attn_output");
            return;
        }
        long[] s = src.info(name).shape();
        if (s.length != 2 || s[0] != rows || (cols >= 0 && s[1] != cols) || s[1] < 1) {
            throw new CheckpointException(src.location(), name, "probe shape mismatch",
                    "expected [" + rows + ", " + (cols >= 0 ? cols : "width") + "] from the metadata (seq_len, heads x head_dim), got "
                            + java.util.Arrays.toString(s));
        }
        if (!src.info(name).dtype().floating()) {
            throw new CheckpointException(src.location(), name, "probe dtype", "activations must be F64/F32/F16/BF16, got " + src.info(name).dtype());
        }
    }

    /**
     * The rope of the probe's model: rope_type and rope_theta, and for any type but the default
     * its parameters (rope_parameters, max_position_embeddings), read by the config's own rule.
     */
    private static Rope.Scaling rope(Path file, Map<String, String> meta) {
        String type = meta.getOrDefault(ROPE_TYPE, "default");
        double theta = doubleMeta(file, meta, ROPE_THETA);
        if (type.equals("default") && !meta.containsKey(ROPE_PARAMETERS)) return Rope.Scaling.standard(theta);
        String params = meta.get(ROPE_PARAMETERS);
        if (params == null) {
            throw new CheckpointException(file, null, "probe metadata missing",
                    "rope_type '" + type + "' needs rope_parameters (its factor and frequencies) in __metadata__");
        }
        ObjectNode cfg = JsonNodeFactory.instance.objectNode();
        try {
            cfg.set(ROPE_PARAMETERS, JSON.readTree(params));
        } catch (IOException e) {
            throw new CheckpointException(file, null, "bad probe metadata", "rope_parameters is not JSON: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (meta.containsKey(MAX_POSITIONS)) cfg.put(MAX_POSITIONS, intMeta(file, meta, MAX_POSITIONS));
        Rope.Scaling s = Rope.Scaling.fromConfig(file, cfg);
        if (!s.type().equals(type) || s.theta() != theta) {
            throw new CheckpointException(file, null, "bad probe metadata", "rope_type '" + type + "' / rope_theta " + theta
                    + " disagree with rope_parameters " + params);
        }
        return s;
    }

    private static int intMeta(Path file, Map<String, String> meta, String key) {
        String v = meta.get(key);
        if (v == null) throw new CheckpointException(file, null, "probe metadata missing", "__metadata__ has no " + key);
        try {
            int x = Integer.parseInt(v.trim());
            if (x < 1) throw new NumberFormatException();
            return x;
        } catch (NumberFormatException e) {
            throw new CheckpointException(file, null, "bad probe metadata", key + " must be a positive integer, got '" + v + "'");
        }
    }

    private static double doubleMeta(Path file, Map<String, String> meta, String key) {
        String v = meta.get(key);
        if (v == null) throw new CheckpointException(file, null, "probe metadata missing", "__metadata__ has no " + key);
        try {
            double x = Double.parseDouble(v.trim());
            if (!(x > 0) || Double.isInfinite(x)) throw new NumberFormatException();
            return x;
        } catch (NumberFormatException e) {
            throw new CheckpointException(file, null, "bad probe metadata", key + " must be a positive number, got '" + v + "'");
        }
    }
}
