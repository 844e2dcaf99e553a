package dev.entangle.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.entangle.core.profile.ProfileJson;
import dev.entangle.core.safetensors.DType;
import dev.entangle.core.safetensors.SafetensorsWriter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Generated Llama-shaped checkpoints in the formats training jobs write (HF full model with
 * config.json + model.safetensors, PEFT LoRA adapter with adapter_config.json), for
 * benchmarks ({@code bench-stack}) and the integration tests' large inputs. Values are Gaussian
 * from a seed and streamed to disk, so a multi-GB file never sits in memory. Only what profiling reads is generated per layer (q_proj,
 * v_proj); {@code fillerBytes} adds an unrelated tensor (as the MLP weights of a real model) to
 * reach a file size.
 */
public final class SyntheticLlama {

    /** The attention shape of a model family: q_proj [hidden, hidden], v_proj [kvDim, hidden]. */
    public record Shape(String name, int layers, int hidden, int heads, int kvHeads) {
        public int headDim() { return hidden / heads; }

        public int kvDim() { return kvHeads * headDim(); }
    }

    public static final Shape LLAMA_3_2_1B = new Shape("llama-3.2-1b", 16, 2048, 32, 8);
    public static final Shape LLAMA_3_1_8B = new Shape("llama-3.1-8b", 32, 4096, 32, 8);

    private SyntheticLlama() {}

    /** Scale of the base weights (like an initialised Llama: ~1/√hidden). */
    static double baseScale(Shape s) { return 1 / Math.sqrt(s.hidden()); }

    /**
     * A full model: W_q, W_v per layer from {@code seed}; with {@code updateScale} > 0 the weights
     * are those of the same base plus a Gaussian update of that relative size (an FFT step).
     */
    public static void writeFullModel(Path dir, Shape s, DType dtype, long seed, double updateScale, long fillerBytes) throws IOException {
        Files.createDirectories(dir);
        SafetensorsWriter w = new SafetensorsWriter();
        double scale = baseScale(s);
        for (int layer = 0; layer < s.layers(); layer++) {
            for (String m : new String[]{"q_proj", "v_proj"}) {
                int rows = m.equals("q_proj") ? s.hidden() : s.kvDim();
                SplittableRandom base = new SplittableRandom(seed * 1_000_003L + layer * 2L + (m.equals("q_proj") ? 0 : 1));
                SplittableRandom update = new SplittableRandom(~(seed * 1_000_003L + layer * 2L + (m.equals("q_proj") ? 0 : 1)));
                w.add("model.layers." + layer + ".self_attn." + m + ".weight", dtype, new long[]{rows, s.hidden()},
                        () -> scale * (base.nextGaussian() + (updateScale > 0 ? updateScale * update.nextGaussian() : 0)));
            }
        }
        if (fillerBytes > 0) {
            long values = fillerBytes / dtype.bytes();
            long cols = s.hidden();
            SplittableRandom f = new SplittableRandom(seed ^ 0x5DEECE66DL);
            w.add("model.layers.0.mlp.up_proj.weight", dtype, new long[]{Math.max(1, values / cols), cols}, () -> scale * (f.nextDouble() - 0.5));
        }
        w.write(dir.resolve("model.safetensors"));
        ObjectNode cfg = ProfileJson.newObject();
        cfg.putArray("architectures").add("LlamaForCausalLM");
        cfg.put("model_type", "llama");
        cfg.put("hidden_size", s.hidden());
        cfg.put("num_hidden_layers", s.layers());
        cfg.put("num_attention_heads", s.heads());
        cfg.put("num_key_value_heads", s.kvHeads());
        cfg.put("head_dim", s.headDim());
        cfg.put("torch_dtype", dtype == DType.BF16 ? "bfloat16" : dtype == DType.F16 ? "float16" : "float32");
        Files.writeString(dir.resolve("config.json"), cfg.toPrettyString());
    }

    /** The rest of a model family's shape that a forward pass reads: the MLP's width and the vocabulary. */
    public record Body(int intermediate, int vocab) {}

    /** Llama 3.2 1B: intermediate 8192, vocabulary 128256. */
    public static final Body LLAMA_3_2_1B_BODY = new Body(8192, 128256);

    /** Llama 3.1 8B: intermediate 14336, vocabulary 128256. */
    public static final Body LLAMA_3_1_8B_BODY = new Body(14336, 128256);

    /**
     * A whole model as HF writes a LlamaForCausalLM (config.json + one model.safetensors, tied
     * embeddings, Llama 3's llama3 RoPE with θ 500000): every weight the forward pass reads,
     * Gaussian with Llama's initializer_range 0.02 from {@code seed}, the RMSNorm weights near 1.
     */
    public static void writeWholeModel(Path dir, Shape s, Body body, DType dtype, long seed) throws IOException {
        Files.createDirectories(dir);
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
        SplittableRandom root = new SplittableRandom(seed);
        int h = s.hidden(), q = s.heads() * s.headDim(), kv = s.kvDim(), f = body.intermediate();
        gaussian(w, dtype, "model.embed_tokens.weight", new long[]{body.vocab(), h}, root.split(), 0, 0.02);
        for (int i = 0; i < s.layers(); i++) {
            String p = "model.layers." + i + ".";
            gaussian(w, dtype, p + "input_layernorm.weight", new long[]{h}, root.split(), 1, 0.05);
            gaussian(w, dtype, p + "self_attn.q_proj.weight", new long[]{q, h}, root.split(), 0, 0.02);
            gaussian(w, dtype, p + "self_attn.k_proj.weight", new long[]{kv, h}, root.split(), 0, 0.02);
            gaussian(w, dtype, p + "self_attn.v_proj.weight", new long[]{kv, h}, root.split(), 0, 0.02);
            gaussian(w, dtype, p + "self_attn.o_proj.weight", new long[]{h, q}, root.split(), 0, 0.02);
            gaussian(w, dtype, p + "post_attention_layernorm.weight", new long[]{h}, root.split(), 1, 0.05);
            gaussian(w, dtype, p + "mlp.gate_proj.weight", new long[]{f, h}, root.split(), 0, 0.02);
            gaussian(w, dtype, p + "mlp.up_proj.weight", new long[]{f, h}, root.split(), 0, 0.02);
            gaussian(w, dtype, p + "mlp.down_proj.weight", new long[]{h, f}, root.split(), 0, 0.02);
        }
        gaussian(w, dtype, "model.norm.weight", new long[]{h}, root.split(), 1, 0.05);
        w.write(dir.resolve("model.safetensors"));
        ObjectNode c = ProfileJson.newObject();
        c.putArray("architectures").add("LlamaForCausalLM");
        c.put("model_type", "llama").put("hidden_size", h).put("num_hidden_layers", s.layers()).put("num_attention_heads", s.heads())
                .put("num_key_value_heads", s.kvHeads()).put("head_dim", s.headDim()).put("intermediate_size", f)
                .put("vocab_size", body.vocab()).put("max_position_embeddings", 131072).put("rms_norm_eps", 1e-5).put("hidden_act", "silu")
                .put("tie_word_embeddings", true).put("attention_bias", false).put("mlp_bias", false)
                .put("torch_dtype", dtype == DType.BF16 ? "bfloat16" : dtype == DType.F16 ? "float16" : "float32");
        c.putObject("rope_parameters").put("rope_type", "llama3").put("rope_theta", 500000.0).put("factor", 32.0)
                .put("low_freq_factor", 1.0).put("high_freq_factor", 4.0).put("original_max_position_embeddings", 8192);
        Files.writeString(dir.resolve("config.json"), c.toPrettyString());
    }

    private static void gaussian(SafetensorsWriter w, DType dtype, String name, long[] shape, SplittableRandom r, double mean, double sd) {
        w.add(name, dtype, shape, () -> mean + sd * r.nextGaussian());
    }

    /** A PEFT LoRA adapter on q_proj and v_proj: A Gaussian (Kaiming-like scale), B a trained-like Gaussian. */
    public static void writeLora(Path dir, Shape s, int rank, double alpha, DType dtype, long seed) throws IOException {
        Files.createDirectories(dir);
        SafetensorsWriter w = new SafetensorsWriter();
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int layer = 0; layer < s.layers(); layer++) {
            for (String m : new String[]{"q_proj", "v_proj"}) {
                int rows = m.equals("q_proj") ? s.hidden() : s.kvDim();
                String prefix = "base_model.model.model.layers." + layer + ".self_attn." + m;
                SplittableRandom a = rnd.split();
                SplittableRandom b = rnd.split();
                double aScale = 1 / Math.sqrt(s.hidden());
                w.add(prefix + ".lora_A.weight", dtype, new long[]{rank, s.hidden()}, () -> aScale * a.nextGaussian());
                w.add(prefix + ".lora_B.weight", dtype, new long[]{rows, rank}, () -> 1e-3 * b.nextGaussian());
            }
        }
        w.write(dir.resolve("adapter_model.safetensors"));
        ObjectNode cfg = ProfileJson.newObject();
        cfg.put("peft_type", "LORA");
        cfg.put("r", rank);
        cfg.put("lora_alpha", alpha);
        cfg.putArray("target_modules").add("q_proj").add("v_proj");
        cfg.put("fan_in_fan_out", false);
        cfg.put("use_rslora", false);
        cfg.put("use_dora", false);
        cfg.put("base_model_name_or_path", s.name());
        Files.writeString(dir.resolve("adapter_config.json"), cfg.toPrettyString());
    }
}
