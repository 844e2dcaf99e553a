package dev.entangle.bench;

import dev.entangle.core.attention.AttentionAnalysis;
import dev.entangle.core.attention.AttentionProbe;
import dev.entangle.core.profile.EntanglementProfile;
import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.profile.ProfileOptions;
import dev.entangle.core.profile.Target;
import dev.entangle.core.safetensors.DType;
import dev.entangle.core.safetensors.SafetensorsFile;
import dev.entangle.core.safetensors.SafetensorsWriter;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Attention at the paper's scale ({@code ./entangle bench --attention}): one layer's heads
 * profiled together, as the profiler's ATTENTION unit does ({@link AttentionAnalysis#heads}:
 * each head's exact profile and its Cardy numbers, which share the row/column cut's one reduction
 * of A·Aᵀ with A⊥'s spectrum), from a generated probe with Llama-3.2-1B's attention geometry (32 query heads over 8
 * key/value heads, head_dim 64) and T tokens of Gaussian q/k. Timed: the layer with the heads
 * side by side (a core each), the same work with the heads one after another (each head's
 * calls on all cores), one head's dense profile alone and with its Cardy numbers, and rebuilding the
 * layer's attention from q/k (both layer figures include it).
 */
final class AttentionBench {

    /** What one run measured (seconds, medians). */
    record Result(int heads, int tokens, double rebuild, double oneProfile, double oneHead, double layerSideBySide,
                  double layerInTurn, double maxEntropyDifference) {

        void print(PrintWriter out, double numpyProfile) {
            out.printf(Locale.ROOT, "attention layer: %d heads of %d² (causal, rebuilt from q/k), exact profile + Cardy numbers per head%n", heads, tokens);
            out.printf(Locale.ROOT, "  rebuilding the layer's attention from q/k (RoPE, softmax)   %8.3f s%n", rebuild);
            out.printf(Locale.ROOT, "  one head: dense %d² profile %.3f s (numpy gram-f32: %.3f s, ratio %.3f); with its Cardy numbers (A⊥'s spectrum from the same reduction) %.3f s%n",
                    tokens, oneProfile, numpyProfile, oneProfile / numpyProfile, oneHead);
            out.printf(Locale.ROOT, "  layer, heads one after another: %8.3f s = %6.2f heads/s, %.3f s a head = %.2f× one dense profile%n",
                    layerInTurn, heads / layerInTurn, layerInTurn / heads, layerInTurn / heads / oneProfile);
            out.printf(Locale.ROOT, "  layer, heads side by side:      %8.3f s = %6.2f heads/s, %.3f s a head = %.2f× one dense profile (%.2f× faster; numpy profiles alone: %.2f heads/s)%n",
                    layerSideBySide, heads / layerSideBySide, layerSideBySide / heads, layerSideBySide / heads / oneProfile,
                    layerInTurn / layerSideBySide, 1 / numpyProfile);
            out.printf(Locale.ROOT, "  max |ΔS| over the heads' cuts, side by side vs one after another and head 0 against its plain profile: %.1e nats%n", maxEntropyDifference);
        }
    }

    /** Llama-3.2-1B's attention: query heads, key/value heads, head dimension, RoPE θ. */
    static final int HEADS = 32, KV_HEADS = 8, HEAD_DIM = 64;
    static final double ROPE_THETA = 500_000;

    private final ProfileCalculator calc;
    private final int repeat;

    AttentionBench(ProfileCalculator calc, int repeat) {
        this.calc = calc;
        this.repeat = repeat;
    }

    Result measure(int tokens) throws IOException {
        Path dir = Files.createTempDirectory("entangle-attention-bench-");
        Path file = dir.resolve("attention_probe.safetensors");
        try {
            new SafetensorsWriter()
                    .add("layers.0.q_raw", DType.F32, new long[]{tokens, HEADS * HEAD_DIM}, RandomMatrix.float32Gaussian(tokens * HEADS * HEAD_DIM, 11))
                    .add("layers.0.k_raw", DType.F32, new long[]{tokens, KV_HEADS * HEAD_DIM}, RandomMatrix.float32Gaussian(tokens * KV_HEADS * HEAD_DIM, 12))
                    .add("layers.0.attn_output", DType.F32, new long[]{tokens, HEADS * HEAD_DIM}, RandomMatrix.float32Gaussian(tokens * HEADS * HEAD_DIM, 13))
                    .metadata("num_heads", "" + HEADS).metadata("num_kv_heads", "" + KV_HEADS).metadata("head_dim", "" + HEAD_DIM)
                    .metadata("seq_len", "" + tokens).metadata("rope_theta", "" + ROPE_THETA).metadata("causal", "true")
                    .write(file);
            try (SafetensorsFile src = SafetensorsFile.open(file)) {
                AttentionProbe probe = AttentionProbe.of(src);
                double[][] a = probe.rebuiltAttention(0, true);
                double rebuild = time(() -> probe.rebuiltAttention(0, true));
                EntanglementProfile p = calc.profile(a[0], tokens, tokens, ProfileOptions.DEFAULT);
                double oneProfile = time(() -> calc.profile(a[0], tokens, tokens, ProfileOptions.DEFAULT));
                AttentionAnalysis analysis = new AttentionAnalysis(calc);
                double oneHead = time(() -> analysis.head(a[0], tokens, ProfileOptions.DEFAULT, Target.head(0, 0), "rebuilt"));
                List<AttentionAnalysis.Named> together = analysis.heads(probe, 0, ProfileOptions.DEFAULT, false);
                double layerSideBySide = time(() -> analysis.heads(probe, 0, ProfileOptions.DEFAULT, false));
                // the same work, the heads one after another: the rebuild, then each head's profile and Cardy numbers
                EntanglementProfile[] apart = new EntanglementProfile[a.length];
                double layerInTurn = time(() -> {
                    double[][] att = probe.rebuiltAttention(0, true);
                    for (int h = 0; h < att.length; h++) {
                        apart[h] = analysis.head(att[h], tokens, ProfileOptions.DEFAULT, Target.head(0, h), "rebuilt").profile();
                    }
                });
                double worst = 0;
                var shared = together.getFirst().profile().cuts();
                for (int k = 0; k < shared.size(); k++) worst = Math.max(worst, Math.abs(shared.get(k).entropy() - p.cuts().get(k).entropy()));
                for (int h = 0; h < together.size(); h++) {
                    var x = together.get(h).profile().cuts();
                    var y = apart[h].cuts();
                    for (int k = 0; k < x.size(); k++) worst = Math.max(worst, Math.abs(x.get(k).entropy() - y.get(k).entropy()));
                }
                return new Result(probe.geometry().heads(), tokens, rebuild, oneProfile, oneHead, layerSideBySide, layerInTurn, worst);
            }
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }

    /** A median over the repeats after one warm-up. */
    private double time(Runnable r) {
        r.run();
        return Timing.medianSeconds(repeat, r);
    }
}
