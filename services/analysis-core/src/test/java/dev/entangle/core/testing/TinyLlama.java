package dev.entangle.core.testing;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.entangle.core.safetensors.DType;
import dev.entangle.core.safetensors.SafetensorsWriter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Small generated Llama-family checkpoints as HF writes them (config.json + model.safetensors,
 * or shards with model.safetensors.index.json), with the knobs the fixtures do not turn: dtype,
 * biases, untied embeddings or embeddings saved only as lm_head, rope scaling, model type.
 * Weights are Gaussian from a seed; {@link #weights} gives them back in double for a reference.
 */
public final class TinyLlama {

    public int hidden = 16, layers = 2, heads = 4, kvHeads = 2, headDim = 4, intermediate = 24, vocab = 40, maxPositions = 64;
    public String modelType = "llama";
    public DType dtype = DType.F32;
    public boolean attentionBias, mlpBias, tied = true, embeddingsAsLmHead;
    public int shards = 1;
    public double eps = 1e-5;
    public long seed = 7;
    /** Edits to config.json before it is written (rope scaling, a wrong field...). */
    public Consumer<ObjectNode> config = c -> c.putObject("rope_parameters").put("rope_type", "default").put("rope_theta", 10000.0);
    /** Tensors to leave out. */
    public List<String> omit = new ArrayList<>();

    private Map<String, long[]> shapes() {
        Map<String, long[]> s = new LinkedHashMap<>();
        s.put(embeddingsAsLmHead ? "lm_head.weight" : "model.embed_tokens.weight", new long[]{vocab, hidden});
        for (int i = 0; i < layers; i++) {
            String p = "model.layers." + i + ".";
            s.put(p + "input_layernorm.weight", new long[]{hidden});
            s.put(p + "post_attention_layernorm.weight", new long[]{hidden});
            long q = (long) heads * headDim, kv = (long) kvHeads * headDim;
            linear(s, p + "self_attn.q_proj", q, hidden, attentionBias);
            linear(s, p + "self_attn.k_proj", kv, hidden, attentionBias);
            linear(s, p + "self_attn.v_proj", kv, hidden, attentionBias);
            linear(s, p + "self_attn.o_proj", hidden, q, attentionBias);
            linear(s, p + "mlp.gate_proj", intermediate, hidden, mlpBias);
            linear(s, p + "mlp.up_proj", intermediate, hidden, mlpBias);
            linear(s, p + "mlp.down_proj", hidden, intermediate, mlpBias);
        }
        s.put("model.norm.weight", new long[]{hidden});
        if (!tied && !embeddingsAsLmHead) s.put("lm_head.weight", new long[]{vocab, hidden});
        return s;
    }

    private static void linear(Map<String, long[]> s, String prefix, long out, long in, boolean bias) {
        s.put(prefix + ".weight", new long[]{out, in});
        if (bias) s.put(prefix + ".bias", new long[]{out});
    }

    /** Every tensor's values in double, as stored (rounded to the dtype). */
    public Map<String, double[]> weights() {
        Map<String, double[]> out = new LinkedHashMap<>();
        Random r = new Random(seed);
        for (Map.Entry<String, long[]> e : shapes().entrySet()) {
            long n = 1;
            for (long d : e.getValue()) n *= d;
            double[] v = new double[(int) n];
            boolean norm = e.getKey().endsWith("layernorm.weight") || e.getKey().endsWith("norm.weight");
            double scale = e.getKey().contains("embed") || e.getKey().startsWith("lm_head") ? 1 : 1 / Math.sqrt(e.getValue()[e.getValue().length - 1]);
            for (int i = 0; i < v.length; i++) v[i] = round(norm ? 1 + 0.2 * r.nextGaussian() : scale * r.nextGaussian());
            out.put(e.getKey(), v);
        }
        return out;
    }

    private double round(double x) {
        return switch (dtype) {
            case F32 -> (float) x;
            case F16 -> Float.float16ToFloat(Float.floatToFloat16((float) x));
            case BF16 -> {
                // round to nearest even into bfloat16, as SafetensorsWriter writes it
                int bits = Float.floatToRawIntBits((float) x);
                int rounded = (bits + 0x7FFF + ((bits >>> 16) & 1)) & 0xFFFF0000;
                yield Float.intBitsToFloat(rounded);
            }
            default -> x;
        };
    }

    public ObjectNode configJson() {
        ObjectNode c = JsonNodeFactory.instance.objectNode();
        c.putArray("architectures").add(modelType.equals("llama") ? "LlamaForCausalLM" : "MistralForCausalLM");
        c.put("model_type", modelType);
        c.put("hidden_size", hidden);
        c.put("num_hidden_layers", layers);
        c.put("num_attention_heads", heads);
        c.put("num_key_value_heads", kvHeads);
        c.put("head_dim", headDim);
        c.put("intermediate_size", intermediate);
        c.put("vocab_size", vocab);
        c.put("max_position_embeddings", maxPositions);
        c.put("rms_norm_eps", eps);
        c.put("hidden_act", "silu");
        c.put("attention_bias", attentionBias);
        c.put("mlp_bias", mlpBias);
        c.put("tie_word_embeddings", tied);
        config.accept(c);
        return c;
    }

    public Path write(Path dir) throws IOException {
        Files.createDirectories(dir);
        Map<String, double[]> w = weights();
        List<String> names = new ArrayList<>(w.keySet());
        names.removeAll(omit);
        ObjectNode index = JsonNodeFactory.instance.objectNode();
        ObjectNode map = index.putObject("weight_map");
        int per = (names.size() + shards - 1) / shards;
        Map<String, long[]> shapes = shapes();
        for (int s = 0; s < shards; s++) {
            SafetensorsWriter writer = new SafetensorsWriter().metadata("format", "pt");
            String file = shards == 1 ? "model.safetensors" : String.format("model-%05d-of-%05d.safetensors", s + 1, shards);
            for (String n : names.subList(s * per, Math.min(names.size(), (s + 1) * per))) {
                writer.add(n, dtype, shapes.get(n), w.get(n));
                map.put(n, file);
            }
            writer.write(dir.resolve(file));
        }
        if (shards > 1) Files.writeString(dir.resolve("model.safetensors.index.json"), index.toPrettyString());
        Files.writeString(dir.resolve("config.json"), configJson().toPrettyString());
        return dir;
    }
}
