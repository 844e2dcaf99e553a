package dev.entangle.core.testing;

import dev.entangle.core.safetensors.DType;
import dev.entangle.core.safetensors.SafetensorsWriter;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The bad-input corpus: each case is a checkpoint folder that breaks exactly one rule, with the
 * rule's name as analysis-core reports it. Every path (CLI, ingest, gRPC upload) must refuse
 * each one naming that rule, and leave nothing behind.
 */
public final class BadInputs {

    /** One case: build it under a folder; {@code base} is the base model folder for FFT cases (or null). */
    public record Case(String name, String rule, Builder builder) {
        @Override
        public String toString() { return name; }
    }

    /** The folders of a built case. */
    public record Built(Path checkpoint, Path base) {}

    @FunctionalInterface
    public interface Builder {
        Built build(Path dir) throws IOException;
    }

    private BadInputs() {}

    static final String A = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight";
    static final String B = "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight";
    static final String CONFIG = "{\"peft_type\":\"LORA\",\"r\":2,\"lora_alpha\":4,\"target_modules\":[\"q_proj\"]}";

    static double[] values(int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = Math.sin(i + 1);
        return v;
    }

    /** A valid LoRA adapter (r = 2, 8×8) as the starting point of most cases. */
    public static Path goodLora(Path dir) throws IOException {
        Files.createDirectories(dir);
        new SafetensorsWriter()
                .add(A, DType.F32, new long[]{2, 8}, values(16))
                .add(B, DType.F32, new long[]{8, 2}, values(16))
                .write(dir.resolve("adapter_model.safetensors"));
        Files.writeString(dir.resolve("adapter_config.json"), CONFIG);
        return dir;
    }

    /** {@link #goodLora} as DoRA: use_dora, with the magnitude vector m [8] PEFT saves beside A and B. */
    public static Path goodDora(Path dir) throws IOException {
        Files.createDirectories(dir);
        new SafetensorsWriter()
                .add(A, DType.F32, new long[]{2, 8}, values(16))
                .add(B, DType.F32, new long[]{8, 2}, values(16))
                .add(A.replace("lora_A.weight", "lora_magnitude_vector"), DType.F32, new long[]{8}, values(8))
                .write(dir.resolve("adapter_model.safetensors"));
        Files.writeString(dir.resolve("adapter_config.json"), CONFIG.replace("}", ",\"use_dora\":true}"));
        return dir;
    }

    /** A base full model for {@link #goodDora}: layer 0's q_proj W₀ [8, 8]. */
    public static Path doraBase(Path dir) throws IOException {
        Files.createDirectories(dir);
        double[] w = new double[64];
        for (int i = 0; i < 64; i++) w[i] = Math.cos(0.7 * i + 0.3);
        new SafetensorsWriter().add("model.layers.0.self_attn.q_proj.weight", DType.F32, new long[]{8, 8}, w).write(dir.resolve("model.safetensors"));
        Files.writeString(dir.resolve("config.json"), "{\"model_type\":\"llama\",\"hidden_size\":8}");
        return dir;
    }

    /** A LoRA folder whose adapter_model.safetensors has the given raw header and data. */
    static Built rawAdapter(Path dir, String header, byte[] data) throws IOException {
        Path d = goodLora(dir.resolve("ckpt"));
        write(d.resolve("adapter_model.safetensors"), header.getBytes(StandardCharsets.UTF_8).length,
                header.getBytes(StandardCharsets.UTF_8), data);
        return new Built(d, null);
    }

    static void write(Path f, long declared, byte[] header, byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declared).put(header).put(data);
        Files.write(f, b.array());
    }

    static byte[] f32(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) b.putFloat(x);
        return b.array();
    }

    static String entry(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":[" + begin + "," + end + "]}";
    }

    /** A valid pair of A (2×2) and B (2×2) entries for raw headers, data 32 bytes. */
    static String pair() {
        return entry(A, "F32", "[2,2]", 0, 16) + "," + entry(B, "F32", "[2,2]", 16, 32);
    }

    static Built fullModels(Path dir, long[] shapeStep, long[] shapeBase, String baseConfig) throws IOException {
        Path base = Files.createDirectories(dir.resolve("base"));
        Path step = Files.createDirectories(dir.resolve("step"));
        String name = "model.layers.0.self_attn.q_proj.weight";
        new SafetensorsWriter().add(name, DType.F32, shapeBase, values((int) (shapeBase[0] * shapeBase[1]))).write(base.resolve("model.safetensors"));
        new SafetensorsWriter().add(name, DType.F32, shapeStep, values((int) (shapeStep[0] * shapeStep[1]))).write(step.resolve("model.safetensors"));
        Files.writeString(base.resolve("config.json"), baseConfig);
        Files.writeString(step.resolve("config.json"), "{\"model_type\":\"llama\",\"hidden_size\":8}");
        return new Built(step, base);
    }

    public static List<Case> all() {
        List<Case> c = new ArrayList<>();
        c.add(new Case("truncated file", "truncated file", dir -> {
            Path d = goodLora(dir.resolve("ckpt"));
            byte[] all = Files.readAllBytes(d.resolve("adapter_model.safetensors"));
            Files.write(d.resolve("adapter_model.safetensors"), Arrays.copyOf(all, all.length - 12));
            return new Built(d, null);
        }));
        c.add(new Case("file shorter than the length prefix", "truncated file", dir -> {
            Path d = goodLora(dir.resolve("ckpt"));
            Files.write(d.resolve("adapter_model.safetensors"), new byte[]{7, 0, 0});
            return new Built(d, null);
        }));
        c.add(new Case("header length beyond the file", "header length beyond end of file", dir -> {
            Path d = goodLora(dir.resolve("ckpt"));
            write(d.resolve("adapter_model.safetensors"), 1 << 20, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]);
            return new Built(d, null);
        }));
        c.add(new Case("header over 100 MB", "header too large", dir -> {
            Path d = goodLora(dir.resolve("ckpt"));
            write(d.resolve("adapter_model.safetensors"), 100_000_001L, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]);
            return new Built(d, null);
        }));
        c.add(new Case("header not JSON", "header not valid JSON", dir -> rawAdapter(dir, "{not json}", new byte[0])));
        c.add(new Case("header a JSON array", "header not a JSON object", dir -> rawAdapter(dir, "[1,2]", new byte[0])));
        c.add(new Case("header with leading space", "header not a JSON object", dir -> rawAdapter(dir, " {}", new byte[0])));
        c.add(new Case("duplicate keys", "duplicate key in header",
                dir -> rawAdapter(dir, "{" + entry(A, "F32", "[2,2]", 0, 16) + "," + entry(A, "F32", "[2,2]", 16, 32) + "}", new byte[32])));
        c.add(new Case("unknown dtype", "unknown dtype",
                dir -> rawAdapter(dir, "{" + entry(A, "F24", "[2,2]", 0, 16) + "," + entry(B, "F32", "[2,2]", 16, 32) + "}", new byte[32])));
        c.add(new Case("shape x dtype != offset span", "shape x dtype size != offset span",
                dir -> rawAdapter(dir, "{" + entry(A, "F64", "[2,2]", 0, 16) + "," + entry(B, "F32", "[2,2]", 16, 32) + "}", new byte[32])));
        c.add(new Case("overlapping offsets", "offsets overlap",
                dir -> rawAdapter(dir, "{" + entry(A, "F32", "[2,2]", 0, 16) + "," + entry(B, "F32", "[2,2]", 8, 24) + "}", new byte[24])));
        c.add(new Case("offsets outside the file", "offsets outside file",
                dir -> rawAdapter(dir, "{" + entry(A, "F32", "[2,2]", 0, 16) + "," + entry(B, "F32", "[2,2]", 64, 80) + "}", new byte[16])));
        c.add(new Case("hole between tensors", "hole in data buffer",
                dir -> rawAdapter(dir, "{" + entry(A, "F32", "[2,2]", 0, 16) + "," + entry(B, "F32", "[2,2]", 20, 36) + "}", new byte[36])));
        c.add(new Case("bytes after the last tensor", "hole in data buffer", dir -> rawAdapter(dir, "{" + pair() + "}", new byte[40])));
        c.add(new Case("invalid data_offsets", "invalid data_offsets",
                dir -> rawAdapter(dir, "{" + entry(A, "F32", "[2,2]", 16, 0) + "," + entry(B, "F32", "[2,2]", 16, 32) + "}", new byte[32])));
        c.add(new Case("metadata not a string map", "metadata not a string map",
                dir -> rawAdapter(dir, "{\"__metadata__\":{\"format\":1}," + pair() + "}", new byte[32])));
        c.add(new Case("NaN in a tensor", "non-finite value", dir -> rawAdapter(dir, "{" + pair() + "}",
                f32(1, 2, Float.NaN, 4, 1, 2, 3, 4))));
        c.add(new Case("Inf in a tensor", "non-finite value", dir -> rawAdapter(dir, "{" + pair() + "}",
                f32(1, 2, 3, 4, 1, Float.POSITIVE_INFINITY, 3, 4))));
        c.add(new Case("rank-0 tensor where a matrix is needed", "not a matrix",
                dir -> rawAdapter(dir, "{" + entry(A, "F32", "[]", 0, 4) + "," + entry(B, "F32", "[2,2]", 4, 20) + "}", new byte[20])));
        c.add(new Case("empty tensor where a matrix is needed", "not a matrix",
                dir -> rawAdapter(dir, "{" + entry(A, "F32", "[0,2]", 0, 0) + "," + entry(B, "F32", "[2,2]", 0, 16) + "}", new byte[16])));
        c.add(new Case("integer tensor as a weight", "not a float tensor",
                dir -> rawAdapter(dir, "{" + entry(A, "I32", "[2,2]", 0, 16) + "," + entry(B, "F32", "[2,2]", 16, 32) + "}", new byte[32])));
        c.add(new Case("LoRA A/B shape mismatch", "LoRA A/B shape mismatch",
                dir -> rawAdapter(dir, "{" + entry(A, "F32", "[2,2]", 0, 16) + "," + entry(B, "F32", "[4,1]", 16, 32) + "}", new byte[32])));
        c.add(new Case("r in the config != tensor rank", "r in config != tensor rank", dir -> {
            Path d = goodLora(dir.resolve("ckpt"));
            Files.writeString(d.resolve("adapter_config.json"), CONFIG.replace("\"r\":2", "\"r\":3"));
            return new Built(d, null);
        }));
        c.add(new Case("adapter config not JSON", "invalid JSON", dir -> {
            Path d = goodLora(dir.resolve("ckpt"));
            Files.writeString(d.resolve("adapter_config.json"), "{\"peft_type\": LORA");
            return new Built(d, null);
        }));
        c.add(new Case("adapter config without r", "invalid r", dir -> {
            Path d = goodLora(dir.resolve("ckpt"));
            Files.writeString(d.resolve("adapter_config.json"), "{\"peft_type\":\"LORA\",\"lora_alpha\":4}");
            return new Built(d, null);
        }));
        c.add(new Case("DoRA without a base", "missing base for DoRA", dir -> {
            Path d = goodDora(dir.resolve("ckpt"));
            return new Built(d, null);
        }));
        c.add(new Case("DoRA without its magnitude vector", "tensor missing", dir -> {
            Path d = goodLora(dir.resolve("ckpt"));
            Files.writeString(d.resolve("adapter_config.json"), CONFIG.replace("}", ",\"use_dora\":true}"));
            return new Built(d, doraBase(dir.resolve("base")));
        }));
        c.add(new Case("adapter module not in target_modules", "module not targeted", dir -> {
            Path d = goodLora(dir.resolve("ckpt"));
            Files.writeString(d.resolve("adapter_config.json"), CONFIG.replace("[\"q_proj\"]", "[\"v_proj\"]"));
            return new Built(d, null);
        }));
        c.add(new Case("unsupported peft_type", "unsupported peft_type", dir -> {
            Path d = goodLora(dir.resolve("ckpt"));
            Files.writeString(d.resolve("adapter_config.json"), CONFIG.replace("LORA", "PREFIX_TUNING"));
            return new Built(d, null);
        }));
        c.add(new Case("pickle adapter", "pickle format refused", dir -> {
            Path d = Files.createDirectories(dir.resolve("ckpt"));
            Files.writeString(d.resolve("adapter_config.json"), CONFIG);
            Files.write(d.resolve("adapter_model.bin"), new byte[]{(byte) 0x80, 2, 'c'});
            return new Built(d, null);
        }));
        c.add(new Case("pickle full model", "pickle format refused", dir -> {
            Path d = Files.createDirectories(dir.resolve("ckpt"));
            Files.writeString(d.resolve("config.json"), "{\"model_type\":\"llama\"}");
            Files.write(d.resolve("pytorch_model.bin"), new byte[]{(byte) 0x80, 2, 'c'});
            return new Built(d, null);
        }));
        c.add(new Case("not a checkpoint folder", "not a checkpoint folder", dir -> {
            Path d = Files.createDirectories(dir.resolve("ckpt"));
            Files.writeString(d.resolve("README.md"), "# nothing here");
            return new Built(d, null);
        }));
        c.add(new Case("shard path with ..", "unsafe shard path", dir -> {
            Path d = Files.createDirectories(dir.resolve("ckpt"));
            Files.writeString(d.resolve("config.json"), "{\"model_type\":\"llama\"}");
            Files.writeString(d.resolve("model.safetensors.index.json"), "{\"weight_map\":{\"w\":\"../../etc/model.safetensors\"}}");
            return new Built(d, null);
        }));
        c.add(new Case("shard path absolute", "unsafe shard path", dir -> {
            Path d = Files.createDirectories(dir.resolve("ckpt"));
            Files.writeString(d.resolve("config.json"), "{\"model_type\":\"llama\"}");
            Files.writeString(d.resolve("model.safetensors.index.json"), "{\"weight_map\":{\"w\":\"/etc/model.safetensors\"}}");
            return new Built(d, null);
        }));
        c.add(new Case("shard missing", "shard missing", dir -> {
            Path d = Files.createDirectories(dir.resolve("ckpt"));
            Files.writeString(d.resolve("config.json"), "{\"model_type\":\"llama\"}");
            Files.writeString(d.resolve("model.safetensors.index.json"), "{\"weight_map\":{\"w\":\"model-00001-of-00002.safetensors\"}}");
            return new Built(d, null);
        }));
        c.add(new Case("FFT without a base", "missing base for FFT", dir -> {
            Built b = fullModels(dir, new long[]{8, 8}, new long[]{8, 8}, "{\"model_type\":\"llama\",\"hidden_size\":8}");
            return new Built(b.checkpoint(), null);
        }));
        c.add(new Case("base of another architecture (config)", "base of another architecture",
                dir -> fullModels(dir, new long[]{8, 8}, new long[]{8, 8}, "{\"model_type\":\"llama\",\"hidden_size\":16}")));
        c.add(new Case("base of another architecture (shapes)", "base of another architecture",
                dir -> fullModels(dir, new long[]{8, 8}, new long[]{8, 4}, "{\"model_type\":\"llama\",\"hidden_size\":8}")));
        c.add(new Case("MPS cores that do not contract", "MPS core shape mismatch", dir -> {
            Path d = Files.createDirectories(dir.resolve("ckpt"));
            String p = "model.layers.0.self_attn.q_proj.";
            new SafetensorsWriter()
                    .add(p + "mps_A.core1", DType.F32, new long[]{2, 3, 2}, values(12))
                    .add(p + "mps_A.core2", DType.F32, new long[]{4, 1, 2}, values(8))
                    .add(p + "mps_B.weight", DType.F32, new long[]{4, 2}, values(8))
                    .write(d.resolve("adapter_model.safetensors"));
            Files.writeString(d.resolve("adapter_config.json"), "{\"peft_type\":\"MPS\",\"r\":2,\"bond_dim\":3,\"lora_alpha\":4,\"in_factors\":[2,2]}");
            return new Built(d, null);
        }));
        c.add(new Case("probe whose T is not the declared seq_len", "probe shape mismatch",
                dir -> probe(dir, Map.of("seq_len", "6"), 8)));
        c.add(new Case("probe metadata missing num_heads", "probe metadata missing",
                dir -> probe(dir, Map.of("num_heads", ""), 8)));
        c.add(new Case("probe heads that do not group over kv heads", "bad probe metadata",
                dir -> probe(dir, Map.of("num_heads", "3", "num_kv_heads", "2"), 8)));
        return c;
    }

    /**
     * A good LoRA folder with an attention_probe.safetensors of T tokens, 2 query heads, 1 kv
     * head, head_dim 4; {@code override} replaces metadata entries (an empty value removes one).
     */
    static Built probe(Path dir, Map<String, String> override, int tokens) throws IOException {
        Path d = goodLora(dir.resolve("ckpt"));
        Map<String, String> meta = new java.util.LinkedHashMap<>(Map.of("num_heads", "2", "num_kv_heads", "1", "head_dim", "4",
                "seq_len", "" + tokens, "rope_theta", "10000.0", "rope_type", "default", "causal", "true"));
        override.forEach((k, v) -> {
            if (v.isEmpty()) meta.remove(k);
            else meta.put(k, v);
        });
        SafetensorsWriter w = new SafetensorsWriter()
                .add("layers.0.q_raw", DType.F32, new long[]{tokens, 8}, values(tokens * 8))
                .add("layers.0.k_raw", DType.F32, new long[]{tokens, 4}, values(tokens * 4))
                .add("layers.0.attn_output", DType.F32, new long[]{tokens, 8}, values(tokens * 8));
        meta.forEach(w::metadata);
        w.write(d.resolve("attention_probe.safetensors"));
        return new Built(d, null);
    }
}
