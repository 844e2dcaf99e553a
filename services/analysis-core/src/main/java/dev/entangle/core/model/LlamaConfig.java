package dev.entangle.core.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.entangle.core.CheckpointException;
import dev.entangle.core.attention.Rope;

import java.nio.file.Path;
import java.util.List;

/**
 * The config.json fields that fix a Llama-family model's forward pass, read as HF transformers'
 * LlamaConfig / MistralConfig read them: the shapes (required, as save_pretrained writes them),
 * and with transformers' defaults where absent: num_key_value_heads = num_attention_heads,
 * head_dim = hidden_size / num_attention_heads, rms_norm_eps 1e-6, hidden_act silu,
 * max_position_embeddings 2048 (llama) or 131072 (mistral), attention_bias / mlp_bias false (llama
 * only: Mistral's projections have no bias), tie_word_embeddings false, and the rotary embedding
 * ({@link Rope.Scaling#fromConfig}). Mistral is the same graph as long as its sliding window
 * covers the whole sequence.
 */
public record LlamaConfig(Path file, String modelType, int hidden, int layers, int heads, int kvHeads, int headDim,
                          int intermediate, int vocab, double rmsEps, int maxPositions, boolean attentionBias,
                          boolean mlpBias, boolean tiedEmbeddings, Integer slidingWindow, Rope.Scaling rope) {

    /** The model types whose forward pass this package reproduces. */
    public static final List<String> MODEL_TYPES = List.of("llama", "mistral");

    public static LlamaConfig parse(Path file, JsonNode c) {
        String type = c.hasNonNull("model_type") ? c.get("model_type").asText() : null;
        if (type == null) throw new CheckpointException(file, null, "config field missing", "model_type (the forward pass reproduces " + MODEL_TYPES + ")");
        if (!MODEL_TYPES.contains(type)) {
            throw new CheckpointException(file, null, "unsupported model_type",
                    "model_type '" + type + "': the forward pass reproduces " + String.join(" and ", MODEL_TYPES) + " (HF modeling_llama)");
        }
        boolean llama = type.equals("llama");
        int hidden = positive(file, c, "hidden_size", null);
        int layers = positive(file, c, "num_hidden_layers", null);
        int heads = positive(file, c, "num_attention_heads", null);
        int kvHeads = positive(file, c, "num_key_value_heads", heads);
        int headDim = positive(file, c, "head_dim", hidden / heads);
        int intermediate = positive(file, c, "intermediate_size", null);
        int vocab = positive(file, c, "vocab_size", null);
        int maxPositions = positive(file, c, "max_position_embeddings", llama ? 2048 : 4096 * 32);
        if (heads % kvHeads != 0) {
            throw new CheckpointException(file, null, "config fields disagree",
                    "num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kvHeads + " (grouped-query attention)");
        }
        if (headDim % 2 != 0) throw new CheckpointException(file, null, "config fields disagree", "head_dim " + headDim + " is odd: RoPE rotates pairs");
        if (!c.hasNonNull("head_dim") && hidden % heads != 0) {
            throw new CheckpointException(file, null, "config fields disagree", "hidden_size " + hidden + " is not a multiple of num_attention_heads " + heads);
        }
        String act = c.hasNonNull("hidden_act") ? c.get("hidden_act").asText() : "silu";
        if (!act.equals("silu")) {
            throw new CheckpointException(file, null, "unsupported hidden_act", "hidden_act '" + act + "': the MLP is SwiGLU, silu(gate)·up");
        }
        double eps = c.hasNonNull("rms_norm_eps") ? number(file, c, "rms_norm_eps") : 1e-6;
        if (!(eps > 0)) throw new CheckpointException(file, null, "invalid config field", "rms_norm_eps must be positive, got " + eps);
        Integer window = null;
        if (!llama && c.hasNonNull("sliding_window")) window = positive(file, c, "sliding_window", null);
        return new LlamaConfig(file, type, hidden, layers, heads, kvHeads, headDim, intermediate, vocab, eps, maxPositions,
                llama && bool(file, c, "attention_bias"), llama && bool(file, c, "mlp_bias"), bool(file, c, "tie_word_embeddings"),
                window, Rope.Scaling.fromConfig(file, c));
    }

    /** Query heads per key/value head. */
    public int group() { return heads / kvHeads; }

    /** Width of q_proj's output (and o_proj's input), heads · head_dim. */
    public int qWidth() { return heads * headDim; }

    /** Width of k_proj's and v_proj's output, num_key_value_heads · head_dim. */
    public int kvWidth() { return kvHeads * headDim; }

    private static int positive(Path file, JsonNode c, String field, Integer fallback) {
        JsonNode v = c.get(field);
        if (v == null || v.isNull()) {
            if (fallback == null) throw new CheckpointException(file, null, "config field missing", field + " (the forward pass needs it)");
            return fallback;
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber() || v.intValue() < 1) {
            throw new CheckpointException(file, null, "invalid config field", field + " must be a positive integer, got " + v);
        }
        return v.intValue();
    }

    private static double number(Path file, JsonNode c, String field) {
        JsonNode v = c.get(field);
        if (!v.isNumber()) throw new CheckpointException(file, null, "invalid config field", field + " must be a number, got " + v);
        return v.doubleValue();
    }

    private static boolean bool(Path file, JsonNode c, String field) {
        JsonNode v = c.get(field);
        if (v == null || v.isNull()) return false;
        if (!v.isBoolean()) throw new CheckpointException(file, null, "invalid config field", field + " must be true or false, got " + v);
        return v.booleanValue();
    }
}
