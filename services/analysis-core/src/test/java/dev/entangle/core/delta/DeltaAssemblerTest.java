package dev.entangle.core.delta;

import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.checkpoint.CheckpointKind;
import dev.entangle.core.CheckpointException;
import dev.entangle.core.safetensors.DType;
import dev.entangle.core.safetensors.SafetensorsWriter;
import dev.entangle.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DeltaAssemblerTest {

    @TempDir
    Path dir;

    static final int OUT = 6, IN = 4, R = 2;
    final Random rnd = new Random(1);
    final double[] a = gaussian(R * IN);   // lora_A [r, in]
    final double[] b = gaussian(OUT * R);  // lora_B [out, r]

    double[] gaussian(int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) x[i] = rnd.nextGaussian();
        return x;
    }

    Path lora(String extraConfig, int rConfig) throws IOException {
        Path d = Files.createDirectories(dir.resolve("lora"));
        String prefix = "base_model.model.model.layers.0.self_attn.q_proj";
        new SafetensorsWriter()
                .add(prefix + ".lora_A.weight", DType.F64, new long[]{R, IN}, a)
                .add(prefix + ".lora_B.weight", DType.F64, new long[]{OUT, R}, b)
                .write(d.resolve("adapter_model.safetensors"));
        Files.writeString(d.resolve("adapter_config.json"),
                "{\"peft_type\":\"LORA\",\"r\":" + rConfig + ",\"lora_alpha\":8" + extraConfig + "}");
        Files.writeString(d.resolve("README.md"), "# model card");
        Files.write(d.resolve("optimizer.pt"), new byte[16]); // trainer state beside the adapter: ignored
        return d;
    }

    double[] ba() {
        return DeltaMatrix.matmul(b, OUT, R, a, IN);
    }

    DeltaMatrix only(Path d) {
        try (Checkpoint c = Checkpoint.open(d)) {
            List<DeltaMatrix> l = DeltaAssembler.deltas(c, null, List.of("q_proj"));
            assertEquals(1, l.size());
            return l.getFirst();
        }
    }

    @Test
    void loraScalesByAlphaOverR() throws IOException {
        DeltaMatrix d = only(lora("", R));
        assertEquals("layers.0.q_proj", d.key());
        double[] want = ba();
        for (int i = 0; i < want.length; i++) assertEquals(8.0 / R * want[i], d.data()[i], 1e-12);
        assertEquals(R, d.rank());
    }

    @Test
    void rsLoraScalesByAlphaOverSqrtR() throws IOException {
        DeltaMatrix d = only(lora(",\"use_rslora\":true", R));
        double[] want = ba();
        for (int i = 0; i < want.length; i++) assertEquals(8.0 / Math.sqrt(R) * want[i], d.data()[i], 1e-12);
    }

    @Test
    void rankAndAlphaPatternsOverrideDefaults() throws IOException {
        // r in the config is 7, but rank_pattern gives q_proj r=2; alpha_pattern gives alpha 3.
        DeltaMatrix d = only(lora(",\"rank_pattern\":{\"q_proj\":2},\"alpha_pattern\":{\"layers.0.self_attn.q_proj\":3}", 7));
        double[] want = ba();
        for (int i = 0; i < want.length; i++) assertEquals(3.0 / 2 * want[i], d.data()[i], 1e-12);
    }

    @Test
    void fanInFanOutTransposes() throws IOException {
        DeltaMatrix d = only(lora(",\"fan_in_fan_out\":true", R));
        assertEquals(IN, d.rows());
        assertEquals(OUT, d.cols());
        double[] want = ba();
        for (int i = 0; i < OUT; i++) for (int j = 0; j < IN; j++) assertEquals(4 * want[i * IN + j], d.data()[j * OUT + i], 1e-12);
    }

    @Test
    void refusesRankMismatchDoraWithoutBaseAndUnknownModules() throws IOException {
        Path d = lora("", 5);
        CheckpointException e = assertThrows(CheckpointException.class, () -> only(d));
        assertEquals("r in config != tensor rank", e.rule());
        assertTrue(e.getMessage().contains("lora_A"), e.getMessage());

        Files.writeString(d.resolve("adapter_config.json"), "{\"peft_type\":\"LORA\",\"r\":2,\"lora_alpha\":8,\"use_dora\":true}");
        try (Checkpoint c = Checkpoint.open(d)) {
            assertEquals(CheckpointKind.DORA, c.kind());
            assertEquals("missing base for DoRA", assertThrows(CheckpointException.class,
                    () -> DeltaAssembler.deltas(c, null, List.of("q_proj"))).rule());
        }

        Files.writeString(d.resolve("adapter_config.json"), "{\"peft_type\":\"LORA\",\"r\":2,\"lora_alpha\":8}");
        try (Checkpoint c = Checkpoint.open(d)) {
            assertEquals("target module not found", assertThrows(CheckpointException.class,
                    () -> DeltaAssembler.deltas(c, null, List.of("o_proj"))).rule());
        }
        Files.writeString(d.resolve("adapter_config.json"), "{\"peft_type\":\"IA3\",\"r\":2,\"lora_alpha\":8}");
        assertEquals("unsupported peft_type", assertThrows(CheckpointException.class, () -> Checkpoint.open(d)).rule());
    }

    @Test
    void refusesLoraShapeMismatch() throws IOException {
        Path d = Files.createDirectories(dir.resolve("mismatch"));
        new SafetensorsWriter()
                .add("model.layers.0.self_attn.q_proj.lora_A.weight", DType.F32, new long[]{2, 4}, new double[8])
                .add("model.layers.0.self_attn.q_proj.lora_B.weight", DType.F32, new long[]{6, 3}, new double[18])
                .write(d.resolve("adapter_model.safetensors"));
        Files.writeString(d.resolve("adapter_config.json"), "{\"peft_type\":\"LORA\",\"r\":2,\"lora_alpha\":8}");
        assertEquals("LoRA A/B shape mismatch", assertThrows(CheckpointException.class, () -> only(d)).rule());
    }

    @Test
    void refusesPickleOnlyAndUnknownFolders() throws IOException {
        Path d = Files.createDirectories(dir.resolve("pickled"));
        Files.writeString(d.resolve("config.json"), "{\"model_type\":\"llama\"}");
        Files.write(d.resolve("pytorch_model.bin"), new byte[32]);
        assertEquals("pickle format refused", assertThrows(CheckpointException.class, () -> Checkpoint.open(d)).rule());
        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertEquals("not a checkpoint folder", assertThrows(CheckpointException.class, () -> Checkpoint.open(empty)).rule());
    }

    @Test
    void fftNeedsAMatchingBase() throws IOException {
        Path fft = Fixtures.root().resolve("runs/fft-lr1e-4/checkpoint-30");
        try (Checkpoint c = Checkpoint.open(fft)) {
            assertEquals(CheckpointKind.FULL_MODEL, c.kind());
            assertEquals("missing base for FFT", assertThrows(CheckpointException.class,
                    () -> DeltaAssembler.deltas(c, null, DeltaAssembler.DEFAULT_MODULES)).rule());
        }
        Path other = Files.createDirectories(dir.resolve("other-base"));
        new SafetensorsWriter().add("model.layers.0.self_attn.q_proj.weight", DType.F32, new long[]{4, 4}, new double[16])
                .write(other.resolve("model.safetensors"));
        Files.writeString(other.resolve("config.json"), "{\"model_type\":\"llama\",\"hidden_size\":4}");
        try (Checkpoint c = Checkpoint.open(fft); Checkpoint base = Checkpoint.open(other)) {
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> DeltaAssembler.deltas(c, base, DeltaAssembler.DEFAULT_MODULES));
            assertEquals("base of another architecture", e.rule());
        }
    }

    /** A BF16 update smaller than bf16's resolution of W is flagged, not hidden. */
    @Test
    void warnsWhenDeltaIsAtHalfPrecisionRoundingLevel() throws IOException {
        double[] w0 = gaussian(64 * 64);
        double[] w1 = w0.clone();
        for (int i = 0; i < w1.length; i++) w1[i] += 1e-4 * rnd.nextGaussian(); // far below bf16's 2^-8 relative step
        Path base = Files.createDirectories(dir.resolve("base"));
        Path step = Files.createDirectories(dir.resolve("step"));
        String cfg = "{\"model_type\":\"llama\",\"hidden_size\":64}";
        for (Path p : List.of(base, step)) Files.writeString(p.resolve("config.json"), cfg);
        new SafetensorsWriter().add("model.layers.0.self_attn.q_proj.weight", DType.BF16, new long[]{64, 64}, w0).write(base.resolve("model.safetensors"));
        new SafetensorsWriter().add("model.layers.0.self_attn.q_proj.weight", DType.BF16, new long[]{64, 64}, w1).write(step.resolve("model.safetensors"));
        try (Checkpoint c = Checkpoint.open(step); Checkpoint b0 = Checkpoint.open(base)) {
            DeltaMatrix d = DeltaAssembler.deltas(c, b0, List.of("q_proj")).getFirst();
            assertEquals(1, d.warnings().size(), d.warnings().toString());
            assertTrue(d.warnings().getFirst().contains("BF16 rounding level"), d.warnings().getFirst());
        }
        // The same update stored in F32 is resolved and not flagged.
        new SafetensorsWriter().add("model.layers.0.self_attn.q_proj.weight", DType.F32, new long[]{64, 64}, w0).write(base.resolve("model.safetensors"));
        new SafetensorsWriter().add("model.layers.0.self_attn.q_proj.weight", DType.F32, new long[]{64, 64}, w1).write(step.resolve("model.safetensors"));
        try (Checkpoint c = Checkpoint.open(step); Checkpoint b0 = Checkpoint.open(base)) {
            assertTrue(DeltaAssembler.deltas(c, b0, List.of("q_proj")).getFirst().warnings().isEmpty());
        }
    }

    @Test
    void mpsAdapterContractsCores() throws IOException {
        Path d = Files.createDirectories(dir.resolve("mps"));
        int r = 2, chi = 3, d1 = 2, d2 = 3, out = 4;
        double[] c1 = gaussian(r * chi * d1), c2 = gaussian(chi * d2), bm = gaussian(out * r);
        new SafetensorsWriter()
                .add("model.layers.1.self_attn.v_proj.mps_A.core1", DType.F32, new long[]{r, chi, d1}, c1)
                .add("model.layers.1.self_attn.v_proj.mps_A.core2", DType.F32, new long[]{chi, 1, d2}, c2)
                .add("model.layers.1.self_attn.v_proj.mps_B.weight", DType.F32, new long[]{out, r}, bm)
                .write(d.resolve("adapter_model.safetensors"));
        Files.writeString(d.resolve("adapter_config.json"),
                "{\"peft_type\":\"MPS\",\"r\":2,\"bond_dim\":3,\"lora_alpha\":4,\"in_factors\":[2,3]}");
        try (Checkpoint c = Checkpoint.open(d)) {
            DeltaMatrix dm = DeltaAssembler.deltas(c, null, List.of("v_proj")).getFirst();
            assertEquals("layers.1.v_proj", dm.key());
            for (int o = 0; o < out; o++) {
                for (int i1 = 0; i1 < d1; i1++) {
                    for (int i2 = 0; i2 < d2; i2++) {
                        double want = 0;
                        for (int q = 0; q < r; q++) {
                            double aq = 0;
                            for (int k = 0; k < chi; k++) aq += (float) c1[(q * chi + k) * d1 + i1] * (double) (float) c2[k * d2 + i2];
                            want += (float) bm[o * r + q] * aq;
                        }
                        assertEquals(2 * want, dm.data()[o * d1 * d2 + i1 * d2 + i2], 1e-9);
                    }
                }
            }
        }
    }
}
