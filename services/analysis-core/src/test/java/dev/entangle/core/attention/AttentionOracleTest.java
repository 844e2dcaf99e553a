package dev.entangle.core.attention;

import com.fasterxml.jackson.databind.JsonNode;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.profile.CutEntropy;
import dev.entangle.core.profile.EntanglementProfile;
import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.profile.Extra;
import dev.entangle.core.profile.ProfileOptions;
import dev.entangle.core.profile.Target;
import dev.entangle.core.safetensors.SafetensorsFile;
import dev.entangle.core.testing.Fixtures;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attention and output-operator profiles of every fixture probe against the float64 oracle:
 * ≤ 1e-4 nats where attention is rebuilt from f32 q/k (captured attention and XXᵀ ≤ 1e-6), and
 * the rebuilt layer-0 attention equals the model's captured attn_weights to 1e-5.
 */
class AttentionOracleTest {

    static final double REBUILT_TOL = 1e-4;
    static final double EXACT_TOL = 1e-6;
    static final ProfileCalculator CALC = ProfileCalculator.fromEnvironment();

    @TestFactory
    Stream<DynamicTest> attentionAndOutputsMatchOracle() {
        return Fixtures.checkpoints().stream().map(c -> DynamicTest.dynamicTest(Fixtures.label(c), () -> check(c)));
    }

    private static void check(Path dir) {
        JsonNode oracle = Fixtures.oracle(dir);
        Path probeFile = dir.resolve(Checkpoint.ATTENTION_PROBE);
        AttentionAnalysis analysis = new AttentionAnalysis(CALC);
        Set<String> seenHeads = new HashSet<>();
        Set<String> seenOutputs = new HashSet<>();
        try (SafetensorsFile src = SafetensorsFile.open(probeFile)) {
            AttentionProbe probe = AttentionProbe.of(src);
            for (int layer : probe.layers()) {
                for (AttentionAnalysis.Named n : analysis.heads(probe, layer, ProfileOptions.DEFAULT, false)) {
                    double tol = n.source().equals("captured") ? EXACT_TOL : REBUILT_TOL;
                    compare(oracle.get("attention").get(n.name()), n.profile(), tol, Fixtures.label(dir) + " " + n.name() + " (" + n.source() + ")");
                    seenHeads.add(n.name());
                }
                AttentionAnalysis.Named o = analysis.output(probe, layer, ProfileOptions.DEFAULT);
                compare(oracle.get("outputs").get(o.name()), o.profile(), EXACT_TOL, Fixtures.label(dir) + " " + o.name());
                seenOutputs.add(o.name());
            }
        }
        Set<String> expectedHeads = new HashSet<>();
        oracle.get("attention").fieldNames().forEachRemaining(expectedHeads::add);
        Set<String> expectedOutputs = new HashSet<>();
        oracle.get("outputs").fieldNames().forEachRemaining(expectedOutputs::add);
        assertEquals(expectedHeads, seenHeads, "every oracle head is profiled");
        assertEquals(expectedOutputs, seenOutputs, "every oracle output operator is profiled");
    }

    static void compare(JsonNode o, EntanglementProfile p, double tol, String where) {
        assertNotNull(o, where + " missing from the oracle");
        JsonNode prof = o.get("profile");
        assertEquals(prof.size(), p.cuts().size(), where + " cuts");
        for (int i = 0; i < prof.size(); i++) {
            CutEntropy c = p.cuts().get(i);
            assertEquals(prof.get(i).get("dL").longValue(), c.dL(), where);
            assertEquals(prof.get(i).get("S").doubleValue(), c.entropy(), tol, where + " cut " + c.cut() + " S");
            assertEquals(prof.get(i).get("S2").doubleValue(), c.renyi("S2"), tol, where + " cut " + c.cut() + " S2");
        }
    }

    /** Where the probe captured layer-0 attention, the rebuild (RoPE, GQA, causal mask) reproduces it. */
    @TestFactory
    Stream<DynamicTest> rebuiltAttentionEqualsCaptured() {
        return Fixtures.checkpoints().stream()
                .filter(c -> {
                    try (SafetensorsFile f = SafetensorsFile.open(c.resolve(Checkpoint.ATTENTION_PROBE))) {
                        return f.contains("layers.0.attn_weights");
                    }
                })
                .map(c -> DynamicTest.dynamicTest(Fixtures.label(c), () -> {
                    try (SafetensorsFile f = SafetensorsFile.open(c.resolve(Checkpoint.ATTENTION_PROBE))) {
                        AttentionProbe probe = AttentionProbe.of(f);
                        double[][] captured = probe.capturedAttention(0).orElseThrow();
                        double[][] rebuilt = probe.rebuiltAttention(0, true);
                        double worst = 0;
                        for (int h = 0; h < captured.length; h++)
                            for (int i = 0; i < captured[h].length; i++) worst = Math.max(worst, Math.abs(captured[h][i] - rebuilt[h][i]));
                        assertTrue(worst <= 1e-5, Fixtures.label(c) + ": max |A_rebuilt − A_captured| = " + worst);
                        // a head rebuilt on its own is the same matrix as when the whole layer is
                        for (boolean causal : new boolean[]{true, false}) {
                            double[][] all = probe.rebuiltAttention(0, causal);
                            var layer = probe.rebuiltLayer(0, causal);
                            for (int h = 0; h < all.length; h++) assertArrayEquals(all[h], layer.head(h), 0.0, "head " + h);
                        }
                    }
                }));
    }

    @Test
    void fixturesCaptureLayerZeroSomewhere() {
        long n = Fixtures.checkpoints().stream().filter(c -> {
            try (SafetensorsFile f = SafetensorsFile.open(c.resolve(Checkpoint.ATTENTION_PROBE))) {
                return f.contains("layers.0.attn_weights");
            }
        }).count();
        assertTrue(n > 0, "the rebuild check must see at least one captured attention");
    }

    /**
     * The row/column cut shared with the Cardy numbers (a head's A·Aᵀ reduction) and with XXᵀ's
     * own eigen-solve gives every cut as the plain profile does: S, S2 and the numerical rank.
     */
    @Test
    void sharedSolvesEqualPlainProfiles() {
        Path dir = Fixtures.checkpoints().get(0);
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(Checkpoint.ATTENTION_PROBE))) {
            AttentionProbe probe = AttentionProbe.of(f);
            int t = probe.geometry().tokens();
            AttentionAnalysis analysis = new AttentionAnalysis(CALC);
            double[][] heads = probe.rebuiltAttention(1, true);
            for (int h = 0; h < heads.length; h++) {
                AttentionAnalysis.Named n = analysis.head(heads[h], t, ProfileOptions.DEFAULT, Target.head(1, h), "rebuilt");
                assertSameCuts(CALC.profile(heads[h], t, t, ProfileOptions.DEFAULT), n.profile(), "layers.1.head." + h);
            }
            double[] o = CALC.linearAlgebra().gram(probe.output(1), t, probe.outputWidth(1), true);
            assertSameCuts(CALC.profile(o, t, t, ProfileOptions.DEFAULT), analysis.output(probe, 1, ProfileOptions.DEFAULT).profile(), "layers.1.outputs");
        }
    }

    private static void assertSameCuts(EntanglementProfile want, EntanglementProfile got, String where) {
        assertEquals(want.cuts().size(), got.cuts().size(), where);
        for (int i = 0; i < want.cuts().size(); i++) {
            CutEntropy w = want.cuts().get(i), g = got.cuts().get(i);
            assertEquals(w.entropy(), g.entropy(), 1e-12, where + " cut " + w.cut() + " S");
            assertEquals(w.renyi("S2"), g.renyi("S2"), 1e-12, where + " cut " + w.cut() + " S2");
            assertEquals(w.bondDimension(), g.bondDimension(), where + " cut " + w.cut() + " bond dimension");
        }
    }

    /** Unmasked rebuild: rows still stochastic, strictly more mass above the diagonal, and profiled under its own name. */
    @Test
    void unmaskedVariantIsProfiled() {
        Path dir = Fixtures.checkpoints().get(0);
        try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(Checkpoint.ATTENTION_PROBE))) {
            AttentionProbe probe = AttentionProbe.of(f);
            int t = probe.geometry().tokens();
            double[][] open = probe.rebuiltAttention(0, false);
            double upper = 0;
            for (int i = 0; i < t; i++) {
                double row = 0;
                for (int j = 0; j < t; j++) {
                    row += open[0][i * t + j];
                    if (j > i) upper += open[0][i * t + j];
                }
                assertEquals(1, row, 1e-12);
            }
            assertTrue(upper > 1, "unmasked attention reaches ahead");
            var named = new AttentionAnalysis(CALC).heads(probe, 0, ProfileOptions.DEFAULT, true);
            assertEquals(2 * probe.geometry().heads(), named.size());
            assertTrue(named.stream().anyMatch(n -> n.name().equals(new Target.Head(0, 0, true).key())));
        }
    }

    /** Lemma II.2 holds on every layer's XXᵀ: S(ρ) ≤ h₂(δ) + δ ln(T − 1), S₂ ≤ 2 ln(1 + δ₁) ≤ 2 ln(1 + √((T−1)η)). */
    @Test
    void stableRankBoundsHold() {
        for (Path dir : Fixtures.checkpoints()) {
            try (SafetensorsFile f = SafetensorsFile.open(dir.resolve(Checkpoint.ATTENTION_PROBE))) {
                AttentionProbe probe = AttentionProbe.of(f);
                for (int layer : probe.layers()) {
                    var x = new AttentionAnalysis(CALC).output(probe, layer, ProfileOptions.DEFAULT).extras();
                    String where = Fixtures.label(dir) + " layer " + layer;
                    if (x.get(Extra.DELTA1) < 1) assertTrue(x.get(Extra.S_RHO) <= x.get(Extra.S_BOUND) + 1e-12, where + " " + x);
                    assertTrue(x.get(Extra.S2_RHO) <= x.get(Extra.S2_BOUND) + 1e-12, where + " " + x);
                    assertTrue(x.get(Extra.DELTA1) <= x.get(Extra.DELTA1_BOUND) + 1e-9, where + " " + x);
                }
            }
        }
    }
}
