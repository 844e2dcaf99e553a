package dev.entangle.core.attention;

import dev.entangle.core.CheckpointException;
import dev.entangle.core.safetensors.TensorInfo;
import dev.entangle.core.safetensors.TensorSource;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An attention probe ({@code attention_probe.safetensors}): one evaluation sequence of T tokens
 * run through the checkpoint's model, per layer i {@code layers.{i}.q_raw} [T, H·d],
 * {@code layers.{i}.k_raw} [T, KV·d] (before RoPE), {@code layers.{i}.attn_output} [T, H·d]
 * and optionally the model's own softmax {@code layers.{i}.attn_weights} [H, T, T];
 * {@code __metadata__} gives rope_theta, rope_type, num_heads, num_kv_heads, head_dim,
 * seq_len, causal. Everything is checked against the declared geometry when opened, so a
 * bad probe is refused before any profile is computed.
 */
public final class AttentionProbe {

    /** The declared attention geometry. */
    public record Geometry(int tokens, int heads, int kvHeads, int headDim, double ropeTheta, String ropeType,
                           boolean causal) {}

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
        int heads = intMeta(file, meta, "num_heads");
        int kvHeads = intMeta(file, meta, "num_kv_heads");
        int headDim = intMeta(file, meta, "head_dim");
        int tokens = intMeta(file, meta, "seq_len");
        String ropeType = meta.getOrDefault("rope_type", "default");
        if (!ropeType.equals("default")) {
            throw new CheckpointException(file, null, "unsupported rope_type",
                    "only HF's default rotary embedding is rebuilt, the probe declares '" + ropeType + "'");
        }
        double theta = doubleMeta(file, meta, "rope_theta");
        String causalText = meta.getOrDefault("causal", "true");
        if (!causalText.equals("true") && !causalText.equals("false")) {
            throw new CheckpointException(file, null, "bad probe metadata", "causal must be true or false, got '" + causalText + "'");
        }
        if (heads % kvHeads != 0) {
            throw new CheckpointException(file, null, "bad probe metadata",
                    "num_heads " + heads + " is not a multiple of num_kv_heads " + kvHeads + " (grouped-query attention)");
        }
        if (headDim % 2 != 0) throw new CheckpointException(file, null, "bad probe metadata", "head_dim " + headDim + " is odd: RoPE rotates pairs");
        if (tokens < 2) throw new CheckpointException(file, null, "bad probe metadata", "seq_len " + tokens + " leaves no bipartition");
        Geometry g = new Geometry(tokens, heads, kvHeads, headDim, theta, ropeType, Boolean.parseBoolean(causalText));

        TreeSet<Integer> found = new TreeSet<>();
        for (String n : src.names()) {
            Matcher m = LAYER_TENSOR.matcher(n);
            if (m.matches()) found.add(Integer.parseInt(m.group(1)));
        }
        if (found.isEmpty()) throw new CheckpointException(file, null, "probe has no layers", "no layers.{i}.q_raw/k_raw/attn_output tensors");
        for (int layer : found) {
            requireShape(src, "layers." + layer + ".q_raw", tokens, (long) heads * headDim, true);
            requireShape(src, "layers." + layer + ".k_raw", tokens, (long) kvHeads * headDim, true);
            requireShape(src, "layers." + layer + ".attn_output", tokens, -1, true);
            String w = "layers." + layer + ".attn_weights";
            if (src.contains(w)) {
                long[] s = src.info(w).shape();
                if (s.length != 3 || s[0] != heads || s[1] != tokens || s[2] != tokens) {
                    throw new CheckpointException(file, w, "probe shape mismatch",
                            "expected [num_heads, seq_len, seq_len] = [" + heads + ", " + tokens + ", " + tokens + "], got " + java.util.Arrays.toString(s));
                }
            }
        }
        long[] positions = Rope.positions(tokens);
        if (src.contains("position_ids")) {
            TensorInfo info = src.info("position_ids");
            if (info.elementCount() != tokens) {
                throw new CheckpointException(file, "position_ids", "probe shape mismatch",
                        info.elementCount() + " positions for seq_len " + tokens);
            }
            double[] p = src.readDoubles("position_ids");
            for (int i = 0; i < tokens; i++) positions[i] = (long) p[i];
        }
        return new AttentionProbe(src, g, found.stream().mapToInt(Integer::intValue).toArray(), positions);
    }

    public Geometry geometry() { return geometry; }

    public Path location() { return src.location(); }

    /** The decoder layers the probe covers, ascending. */
    public int[] layers() { return layers.clone(); }

    /** Whether the model's own attention was captured for this layer. */
    public boolean hasCapturedAttention(int layer) { return src.contains("layers." + layer + ".attn_weights"); }

    /** The captured attention of every head, each [T, T] row-major. */
    public Optional<double[][]> capturedAttention(int layer) {
        if (!hasCapturedAttention(layer)) return Optional.empty();
        double[] all = src.readDoubles("layers." + layer + ".attn_weights");
        int t2 = geometry.tokens() * geometry.tokens();
        double[][] out = new double[geometry.heads()][];
        for (int h = 0; h < out.length; h++) out[h] = java.util.Arrays.copyOfRange(all, h * t2, (h + 1) * t2);
        return Optional.of(out);
    }

    /** Attention of every head rebuilt from q_raw/k_raw (RoPE, GQA), causal or unmasked. */
    public double[][] rebuiltAttention(int layer, boolean causal) {
        requireLayer(layer);
        Geometry g = geometry;
        Rope rope = new Rope(g.headDim(), g.ropeTheta(), positions);
        return AttentionRebuild.heads(src.readDoubles("layers." + layer + ".q_raw"), src.readDoubles("layers." + layer + ".k_raw"),
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
        return src.readDoubles("layers." + layer + ".attn_output");
    }

    public int outputWidth(int layer) {
        return (int) src.info("layers." + layer + ".attn_output").dim(1);
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
