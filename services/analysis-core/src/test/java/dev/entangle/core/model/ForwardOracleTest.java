package dev.entangle.core.model;

import dev.entangle.core.attention.AttentionProbe;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.checkpoint.CheckpointKind;
import dev.entangle.core.engine.Engines;
import dev.entangle.core.engine.LinearAlgebra;
import dev.entangle.core.safetensors.MemoryTensors;
import dev.entangle.core.safetensors.SafetensorsFile;
import dev.entangle.core.safetensors.TensorSource;
import dev.entangle.core.testing.Fixtures;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The forward pass against transformers' own captures: for every fixture checkpoint at step
 * 150, run from the probe's input_ids (adapters on the base with their ΔW merged), q_raw and
 * k_raw to a relative max error ≤ 1e-5, attn_output ≤ 1e-4, layer-0 attn_weights ≤ 1e-4
 * absolute (a float64 numpy forward lands at 2.8e-6 / 1.1e-6 / 2.5e-5), on every engine here.
 */
class ForwardOracleTest {

    static final double PROJECTION_TOL = 1e-5;
    static final double OUTPUT_TOL = 1e-4;
    static final double WEIGHTS_TOL = 1e-4;

    static List<Path> step150() {
        return Fixtures.checkpoints().stream().filter(c -> c.getFileName().toString().equals("checkpoint-150")).toList();
    }

    /** The probe's own tokens, as the forward pass takes them. */
    static ProbeTokens tokensOf(TensorSource probe) {
        double[] ids = probe.readDoubles(AttentionProbe.INPUT_IDS);
        int[] t = new int[ids.length];
        for (int i = 0; i < t.length; i++) t[i] = (int) ids[i];
        return new ProbeTokens(t, probe.location(), AttentionProbe.INPUT_IDS);
    }

    static MemoryTensors forward(Path dir, LinearAlgebra la, ProbeTokens tokens) {
        try (Checkpoint ckpt = Checkpoint.open(dir);
             Checkpoint base = ckpt.kind() == CheckpointKind.FULL_MODEL ? null : Checkpoint.open(Fixtures.base())) {
            MemoryProbe sink = new MemoryProbe(dir.resolve("forward"));
            LlamaForward.of(ckpt, base, la).run(tokens, sink);
            return sink.tensors();
        }
    }

    @TestFactory
    Stream<DynamicTest> reproducesTransformersCaptures() {
        return Engines.available().stream().flatMap(engine -> step150().stream().map(dir ->
                DynamicTest.dynamicTest(engine + " " + Fixtures.label(dir), () -> check(dir, Engines.named(engine)))));
    }

    private static void check(Path dir, LinearAlgebra la) {
        try (SafetensorsFile ref = SafetensorsFile.open(dir.resolve(Checkpoint.ATTENTION_PROBE))) {
            MemoryTensors ours = forward(dir, la, tokensOf(ref));
            AttentionProbe mine = AttentionProbe.of(ours);
            AttentionProbe theirs = AttentionProbe.of(ref);
            assertEquals(theirs.geometry(), mine.geometry(), "the probe's metadata");
            assertArrayEquals(theirs.layers(), mine.layers());
            assertArrayEquals(ref.readDoubles(AttentionProbe.POSITION_IDS), ours.readDoubles(AttentionProbe.POSITION_IDS));
            String where = Fixtures.label(dir) + " on " + la.name();
            StringBuilder measured = new StringBuilder(where).append(":");
            for (int layer : theirs.layers()) {
                for (String name : List.of(AttentionProbe.qRaw(layer), AttentionProbe.kRaw(layer))) {
                    double e = relativeMaxError(ours.readDoubles(name), ref.readDoubles(name));
                    assertTrue(e <= PROJECTION_TOL, where + " " + name + ": relative max error " + e);
                    measured.append(String.format(java.util.Locale.ROOT, " %s %.2e", name, e));
                }
                String out = AttentionProbe.attnOutput(layer);
                double e = relativeMaxError(ours.readDoubles(out), ref.readDoubles(out));
                assertTrue(e <= OUTPUT_TOL, where + " " + out + ": relative max error " + e);
                measured.append(String.format(java.util.Locale.ROOT, " %s %.2e", out, e));
            }
            String w = AttentionProbe.attnWeights(0);
            assertTrue(ref.contains(w), "every step-150 fixture captures layer 0's attention");
            double[] a = ours.readDoubles(w), b = ref.readDoubles(w);
            double worst = 0;
            for (int i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
            assertTrue(worst <= WEIGHTS_TOL, where + " layers.0.attn_weights: max |Δ| = " + worst);
            System.out.println(measured.append(String.format(java.util.Locale.ROOT, " %s |Δ| %.2e", w, worst)));
        }
    }

    static double relativeMaxError(double[] ours, double[] ref) {
        assertEquals(ref.length, ours.length);
        double diff = 0, scale = 0;
        for (int i = 0; i < ref.length; i++) {
            diff = Math.max(diff, Math.abs(ours[i] - ref[i]));
            scale = Math.max(scale, Math.abs(ref[i]));
        }
        return diff / scale;
    }

    /** The captures written as a safetensors probe file read back as the same probe. */
    @Test
    void capturesWriteAsAProbeFile(@TempDir Path tmp) throws Exception {
        Path dir = step150().getFirst();
        MemoryTensors ours;
        try (SafetensorsFile ref = SafetensorsFile.open(dir.resolve(Checkpoint.ATTENTION_PROBE))) {
            ours = forward(dir, Engines.named("openblas"), tokensOf(ref));
            Path file = tmp.resolve(Checkpoint.ATTENTION_PROBE);
            ours.write(file);
            try (SafetensorsFile back = SafetensorsFile.open(file)) {
                assertEquals(ours.names(), back.names());
                assertEquals(ours.metadata(), back.metadata());
                assertEquals(ref.metadata(), back.metadata(), "the fixture probe's __metadata__ keys and values");
                for (String n : back.names()) {
                    assertEquals(ours.info(n).dtype(), back.info(n).dtype(), n);
                    assertArrayEquals(ours.info(n).shape(), back.info(n).shape(), n);
                    if (ref.contains(n)) assertArrayEquals(ref.info(n).shape(), back.info(n).shape(), n);
                    assertArrayEquals(ours.readDoubles(n), back.readDoubles(n), n);
                }
                assertArrayEquals(ref.readDoubles(AttentionProbe.INPUT_IDS), back.readDoubles(AttentionProbe.INPUT_IDS));
            }
        }
    }
}
