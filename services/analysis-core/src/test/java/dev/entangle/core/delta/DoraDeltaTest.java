package dev.entangle.core.delta;

import dev.entangle.core.CheckpointException;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.checkpoint.CheckpointKind;
import dev.entangle.core.safetensors.DType;
import dev.entangle.core.safetensors.SafetensorsWriter;
import dev.entangle.core.testing.DoraFixtures;
import dev.entangle.core.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DoRA's ΔW = m ⊙ (W₀ + s·B·A) / ‖W₀ + s·B·A‖_row − W₀ against an oracle the test computes
 * itself: numpy in float64 over the same files ({@code dora_oracle.py}, which reads the
 * safetensors bytes on its own), at ≤ 1e-9 relative.
 */
class DoraDeltaTest {

    static final double REL = 1e-9;

    @TempDir
    Path tmp;

    /** Runs the numpy oracle; target → (rows, cols, ΔW row-major). */
    Map<String, double[]> oracle(Path adapter, Path baseWeights, Map<String, int[]> shapes) throws IOException, InterruptedException, URISyntaxException {
        Path script = Path.of(DoraDeltaTest.class.getResource("/dora_oracle.py").toURI());
        Path out = Files.createDirectories(tmp.resolve("oracle-" + System.nanoTime()));
        Process p = new ProcessBuilder("python3", script.toString(), adapter.toString(), baseWeights.toString(), out.toString())
                .redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the numpy oracle did not finish");
        assertEquals(0, p.exitValue(), "python3 with numpy must run the oracle: " + text);
        Map<String, double[]> result = new LinkedHashMap<>();
        for (String line : text.strip().split("\n")) {
            String[] f = line.trim().split(" ");
            shapes.put(f[0], new int[]{Integer.parseInt(f[1]), Integer.parseInt(f[2])});
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(out.resolve(f[0] + ".f64"))).order(ByteOrder.LITTLE_ENDIAN);
            double[] d = new double[b.remaining() / 8];
            for (int i = 0; i < d.length; i++) d[i] = b.getDouble();
            result.put(f[0], d);
        }
        return result;
    }

    static void assertClose(double[] want, DeltaMatrix got, String what) {
        double[] x = got.data();
        assertEquals(want.length, x.length, what);
        double max = 0;
        double diff = 0;
        double n2 = 0;
        double d2 = 0;
        for (int i = 0; i < want.length; i++) {
            max = Math.max(max, Math.abs(want[i]));
            diff = Math.max(diff, Math.abs(want[i] - x[i]));
            n2 += want[i] * want[i];
            d2 += (want[i] - x[i]) * (want[i] - x[i]);
        }
        assertTrue(max > 0, what + ": the oracle's ΔW is not zero");
        assertTrue(diff <= REL * max, what + ": max |Δ| " + diff + " vs max |ΔW| " + max);
        assertTrue(Math.sqrt(d2) <= REL * Math.sqrt(n2), what + ": ‖Δ‖_F / ‖ΔW‖_F = " + Math.sqrt(d2 / n2));
    }

    @Test
    void theTinyLlamaDoraAdapterEqualsNumpy() throws Exception {
        Path dora = DoraFixtures.write(tmp.resolve("dora/checkpoint-150"), 7);
        Map<String, int[]> shapes = new LinkedHashMap<>();
        Map<String, double[]> want = oracle(dora, Fixtures.base().resolve("model.safetensors"), shapes);
        assertEquals(4, want.size(), "q/v of 2 layers");
        try (Checkpoint c = Checkpoint.open(dora); Checkpoint base = Checkpoint.open(Fixtures.base())) {
            assertEquals(CheckpointKind.DORA, c.kind());
            assertEquals("dora", c.kind().method());
            List<DeltaMatrix> got = DeltaAssembler.deltas(c, base, List.of("q_proj", "v_proj"));
            assertEquals(want.keySet(), new java.util.LinkedHashSet<>(got.stream().map(DeltaMatrix::key).toList()));
            for (DeltaMatrix d : got) {
                assertEquals(shapes.get(d.key())[0], d.rows(), d.key());
                assertEquals(shapes.get(d.key())[1], d.cols(), d.key());
                assertEquals(0, d.rank(), "DoRA's ΔW is dense (the rows of W₀ are rescaled)");
                assertClose(want.get(d.key()), d, d.key());
            }
            // the same through the one-target path the profiler uses
            assertClose(want.get("layers.1.v_proj"), DeltaAssembler.delta(c, base, "layers.1.v_proj"), "delta(layers.1.v_proj)");
            // not LoRA's ΔW: the magnitude rescales every row of W₀ too
            try (Checkpoint lora = Checkpoint.open(Fixtures.root().resolve("runs/lora-r4-a16/checkpoint-150"))) {
                double[] l = DeltaAssembler.delta(lora, null, "layers.0.q_proj").data();
                double[] d = DeltaAssembler.delta(c, base, "layers.0.q_proj").data();
                double gap = 0;
                for (int i = 0; i < l.length; i++) gap = Math.max(gap, Math.abs(l[i] - d[i]));
                assertTrue(gap > 1e-4, "DoRA differs from its LoRA part: " + gap);
            }
        }
    }

    /** What ingest can check with only the registered base's shapes. */
    @Test
    void aDoraAdapterIsCheckedAgainstTheBaseShapesAlone() throws Exception {
        Path dora = DoraFixtures.write(tmp.resolve("dora-check"), 3);
        Map<String, long[]> shapes = new LinkedHashMap<>();
        for (int i = 0; i < 2; i++) {
            shapes.put("layers." + i + ".q_proj", new long[]{256, 256});
            shapes.put("layers." + i + ".v_proj", new long[]{64, 256});
        }
        try (Checkpoint c = Checkpoint.open(dora)) {
            assertEquals(List.of("layers.0.q_proj", "layers.0.v_proj", "layers.1.q_proj", "layers.1.v_proj"),
                    DeltaAssembler.checkDora(c, shapes, Path.of("bases/tiny-llama/manifest.json")));
            shapes.put("layers.1.v_proj", new long[]{64, 128});
            CheckpointException e = assertThrows(CheckpointException.class, () -> DeltaAssembler.checkDora(c, shapes, Path.of("bases/tiny-llama/manifest.json")));
            assertEquals("base of another architecture", e.rule());
            assertTrue(e.getMessage().startsWith("bases/tiny-llama/manifest.json:layers.1.v_proj"), e.getMessage());
            shapes.remove("layers.1.v_proj");
            assertEquals("base of another architecture", assertThrows(CheckpointException.class,
                    () -> DeltaAssembler.checkDora(c, shapes, Path.of("bases/tiny-llama/manifest.json"))).rule());
        }
    }

    /** fan_in_fan_out (W₀ stored [in, out]), rsLoRA, rank_pattern and alpha_pattern, F64 throughout. */
    @Test
    void fanInFanOutRsLoraAndPatternsEqualNumpy() throws Exception {
        int out = 6;
        int in = 10;
        int r = 3;
        Random rnd = new Random(11);
        Path dir = Files.createDirectories(tmp.resolve("conv1d"));
        Path baseDir = Files.createDirectories(tmp.resolve("conv1d-base"));
        String prefix = "base_model.model.model.layers.0.self_attn.q_proj";
        new SafetensorsWriter()
                .add(prefix + ".lora_A.weight", DType.F64, new long[]{r, in}, rnd::nextGaussian)
                .add(prefix + ".lora_B.weight", DType.F64, new long[]{out, r}, rnd::nextGaussian)
                .add(prefix + ".lora_magnitude_vector", DType.F64, new long[]{out}, () -> 1 + rnd.nextDouble())
                .write(dir.resolve("adapter_model.safetensors"));
        Files.writeString(dir.resolve("adapter_config.json"), "{\"peft_type\":\"LORA\",\"r\":5,\"lora_alpha\":8,\"use_dora\":true,"
                + "\"use_rslora\":true,\"fan_in_fan_out\":true,\"rank_pattern\":{\"q_proj\":3},\"alpha_pattern\":{\"self_attn.q_proj\":7},"
                + "\"target_modules\":[\"q_proj\"]}");
        new SafetensorsWriter().add("model.layers.0.self_attn.q_proj.weight", DType.F64, new long[]{in, out}, rnd::nextGaussian)
                .write(baseDir.resolve("model.safetensors"));
        Files.writeString(baseDir.resolve("config.json"), "{\"model_type\":\"gpt2\"}");
        Map<String, int[]> shapes = new LinkedHashMap<>();
        Map<String, double[]> want = oracle(dir, baseDir.resolve("model.safetensors"), shapes);
        try (Checkpoint c = Checkpoint.open(dir); Checkpoint base = Checkpoint.open(baseDir)) {
            DeltaMatrix d = DeltaAssembler.delta(c, base, "layers.0.q_proj");
            assertEquals(in, d.rows(), "stored layout [in, out], as LoRA's fan_in_fan_out ΔW");
            assertEquals(out, d.cols());
            assertEquals(in, shapes.get("layers.0.q_proj")[0]);
            assertClose(want.get("layers.0.q_proj"), d, "fan_in_fan_out");
        }
    }

    @Test
    void refusesAMagnitudeOfTheWrongShapeAndABaseOfAnotherShape() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("bad"));
        Path baseDir = Files.createDirectories(tmp.resolve("bad-base"));
        String prefix = "base_model.model.model.layers.0.self_attn.q_proj";
        new SafetensorsWriter()
                .add(prefix + ".lora_A.weight", DType.F32, new long[]{2, 4}, () -> 0.5)
                .add(prefix + ".lora_B.weight", DType.F32, new long[]{3, 2}, () -> 0.25)
                .add(prefix + ".lora_magnitude_vector", DType.F32, new long[]{4}, () -> 1)
                .write(dir.resolve("adapter_model.safetensors"));
        Files.writeString(dir.resolve("adapter_config.json"), "{\"peft_type\":\"LORA\",\"r\":2,\"lora_alpha\":2,\"use_dora\":true}");
        new SafetensorsWriter().add("model.layers.0.self_attn.q_proj.weight", DType.F32, new long[]{3, 5}, () -> 1)
                .write(baseDir.resolve("model.safetensors"));
        Files.writeString(baseDir.resolve("config.json"), "{\"model_type\":\"llama\"}");
        try (Checkpoint c = Checkpoint.open(dir); Checkpoint base = Checkpoint.open(baseDir)) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> DeltaAssembler.delta(c, base, "layers.0.q_proj"));
            assertEquals("DoRA magnitude shape mismatch", e.rule());
            assertTrue(e.getMessage().contains("lora_magnitude_vector"), e.getMessage());
        }
        new SafetensorsWriter()
                .add(prefix + ".lora_A.weight", DType.F32, new long[]{2, 4}, () -> 0.5)
                .add(prefix + ".lora_B.weight", DType.F32, new long[]{3, 2}, () -> 0.25)
                .add(prefix + ".lora_magnitude_vector", DType.F32, new long[]{3}, () -> 1)
                .write(dir.resolve("adapter_model.safetensors"));
        try (Checkpoint c = Checkpoint.open(dir); Checkpoint base = Checkpoint.open(baseDir)) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> DeltaAssembler.delta(c, base, "layers.0.q_proj"));
            assertEquals("base of another architecture", e.rule());
            assertFalse(e.getMessage().isBlank());
        }
    }
}
