package dev.entangle.core.testing;

import dev.entangle.core.safetensors.DType;
import dev.entangle.core.safetensors.SafetensorsFile;
import dev.entangle.core.safetensors.SafetensorsWriter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * A DoRA checkpoint over the tiny-llama base, as PEFT writes one ({@code use_dora: true}): the
 * LoRA factors of {@code lora-r4-a16/checkpoint-150} and, per module, a trained-looking magnitude
 * vector {@code lora_magnitude_vector} [out] (the row norms of W₀ + s·B·A, perturbed by a seeded
 * 1–3 %), all F32. What DoRA's ΔW is made of is then known to the test, which computes its own
 * oracle.
 */
public final class DoraFixtures {

    /** The modules the fixture adapts (those the tiny-llama base registration keeps). */
    public static final String[] MODULES = {"q_proj", "v_proj"};
    public static final int LAYERS = 2;

    private DoraFixtures() {}

    /** Writes the DoRA folder under {@code dir} (adapter_model.safetensors + adapter_config.json); {@code seed} varies m. */
    public static Path write(Path dir, long seed) throws IOException {
        Files.createDirectories(dir);
        Path lora = Fixtures.root().resolve("runs/lora-r4-a16/checkpoint-150");
        Random rnd = new Random(seed);
        SafetensorsWriter w = new SafetensorsWriter();
        double alpha = 16;
        int r = 4;
        try (SafetensorsFile ad = SafetensorsFile.open(lora.resolve("adapter_model.safetensors"));
             SafetensorsFile base = SafetensorsFile.open(Fixtures.base().resolve("model.safetensors"))) {
            for (int layer = 0; layer < LAYERS; layer++) {
                for (String module : MODULES) {
                    String prefix = "base_model.model.model.layers." + layer + ".self_attn." + module;
                    double[] a = ad.readDoubles(prefix + ".lora_A.weight");
                    double[] b = ad.readDoubles(prefix + ".lora_B.weight");
                    long[] sa = ad.info(prefix + ".lora_A.weight").shape();
                    long[] sb = ad.info(prefix + ".lora_B.weight").shape();
                    double[] w0 = base.readDoubles("model.layers." + layer + ".self_attn." + module + ".weight");
                    int out = (int) sb[0];
                    int in = (int) sa[1];
                    double[] m = new double[out];
                    for (int i = 0; i < out; i++) {
                        double n2 = 0;
                        for (int j = 0; j < in; j++) {
                            double v = w0[i * in + j];
                            for (int p = 0; p < r; p++) v += alpha / r * b[i * r + p] * a[p * in + j];
                            n2 += v * v;
                        }
                        m[i] = (float) (Math.sqrt(n2) * (1 + 0.01 + 0.02 * rnd.nextDouble()));
                    }
                    w.add(prefix + ".lora_A.weight", DType.F32, sa, a);
                    w.add(prefix + ".lora_B.weight", DType.F32, sb, b);
                    w.add(prefix + ".lora_magnitude_vector", DType.F32, new long[]{out}, m);
                }
            }
        }
        w.write(dir.resolve("adapter_model.safetensors"));
        String cfg = Files.readString(lora.resolve("adapter_config.json")).replace("\"use_dora\": false", "\"use_dora\": true");
        if (!cfg.contains("\"use_dora\": true")) throw new IllegalStateException("the LoRA fixture's config changed: no use_dora field");
        Files.writeString(dir.resolve("adapter_config.json"), cfg);
        return dir;
    }
}
