package dev.entangle.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.entangle.core.attention.AttentionProbe;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.engine.Engines;
import dev.entangle.core.engine.LinearAlgebra;
import dev.entangle.core.model.LlamaForward;
import dev.entangle.core.model.ProbeSink;
import dev.entangle.core.model.ProbeTokens;
import dev.entangle.core.profile.CheckpointProfiler;
import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.profile.ProfileOptions;
import dev.entangle.core.safetensors.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * The forward pass's speed (a benchmark, not a test): a generated Llama-3.2-1B-shaped model
 * (16 layers, hidden 2048, 32 heads, 8 KV heads, intermediate 8192, vocab 128256, tied, llama3
 * RoPE, bf16) run on T random tokens. Reports, medians over repeats after a warm-up: the
 * engine's sgemm GFLOP/s on the model's largest product in the same run, the forward pass's
 * GFLOP/s (its GEMM flops over its wall time, everything else included) and their ratio, the
 * heap's peak (run it under -Xmx1g: ENTANGLE_JAVA_OPTS=-Xmx1g), and the whole external profile
 * (the forward pass with its captures written away, every head's attention profile and every
 * XXᵀ profile) end to end. Issue targets: ratio ≥ 0.6, external profile ≤ 90 s at T = 1024.
 *
 * <p>usage: ENTANGLE_JAVA_OPTS=-Xmx1g ./entangle bench forward [--tokens 1024]
 */
@Command(name = "forward", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Time the forward pass of a generated Llama-3.2-1B-shaped model and its whole external profile.")
final class ForwardBenchCommand implements Callable<Integer> {

    @Option(names = "--model", paramLabel = "DIR", description = "The generated model's folder (default: ~/.cache/entangle/bench/llama-3.2-1b-shaped-bf16); written when absent.")
    Path model;

    @Option(names = "--tokens", paramLabel = "T", description = "Probe length (default: 1024).")
    int tokens = 1024;

    @Option(names = "--repeat", paramLabel = "N", description = "Timed forward passes after one warm-up (default: 3).")
    int repeat = 3;

    @Option(names = "--layers", paramLabel = "L", description = "Decoder layers of the generated model (default: 16).")
    int layers = 16;

    @Option(names = "--engine", paramLabel = "NAME", description = "auto, openblas, nd4j or cuda (default: auto).")
    String engine = "auto";

    @Option(names = "--no-profile", negatable = true, description = "Also time the whole external profile (default: yes).")
    boolean profile = true;

    @Spec
    CommandSpec spec;

    static final int HIDDEN = SyntheticLlama.LLAMA_3_2_1B.hidden(), HEADS = SyntheticLlama.LLAMA_3_2_1B.heads(),
            INTERMEDIATE = SyntheticLlama.LLAMA_3_2_1B_BODY.intermediate(), VOCAB = SyntheticLlama.LLAMA_3_2_1B_BODY.vocab();

    /** Llama 3.2 1B's shape with the layers asked for. */
    private SyntheticLlama.Shape shape() {
        SyntheticLlama.Shape s = SyntheticLlama.LLAMA_3_2_1B;
        return new SyntheticLlama.Shape(s.name(), layers, s.hidden(), s.heads(), s.kvHeads());
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Path dir = model != null ? model : Path.of(System.getProperty("user.home"), ".cache", "entangle", "bench",
                "llama-3.2-1b-shaped-bf16" + (layers == 16 ? "" : "-" + layers + "l"));
        if (!Files.isRegularFile(dir.resolve("model.safetensors"))) {
            long t0 = System.nanoTime();
            SyntheticLlama.writeWholeModel(dir, shape(), SyntheticLlama.LLAMA_3_2_1B_BODY, DType.BF16, 20260101);
            out.printf(Locale.ROOT, "generated %s in %.1f s%n", dir, (System.nanoTime() - t0) / 1e9);
        }
        LinearAlgebra engineItself = Engines.named(engine);
        TimedEngine la = new TimedEngine(engineItself);
        int[] ids = new SplittableRandom(1).ints(tokens, 0, VOCAB).toArray();
        ProbeTokens probe = new ProbeTokens(ids, dir.resolve("bench-tokens"), null);
        out.printf(Locale.ROOT, "engine %s, %d cores, max heap %d MiB, T = %d, %d repeats (median), load average %s%n", la.name(),
                Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20, tokens, repeat, loadAverage());

        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            LlamaForward forward = LlamaForward.of(ckpt, null, la);
            double flops = LlamaForward.gemmFlops(forward.config(), tokens);
            SgemmProbe sgemm = new SgemmProbe(engineItself, tokens);
            forward.run(probe, new Discard());   // warm-up
            // sgemm measured before every timed pass, so that the ratio sees the machine as the pass does
            double[] t = new double[repeat], s = new double[repeat], inside = new double[repeat];
            for (int i = 0; i < repeat; i++) {
                s[i] = sgemm.gflops();
                resetPeaks();
                la.reset();
                long t0 = System.nanoTime();
                forward.run(probe, new Discard());
                t[i] = (System.nanoTime() - t0) / 1e9;
                inside[i] = la.gemmSeconds();
            }
            double wall = Timing.median(t), rate = Timing.median(s), gemm = Timing.median(inside);
            out.printf(Locale.ROOT, "sgemm %dx%dx%d (the MLP's product, as the pass calls it): %.1f GFLOP/s median of %s%n",
                    tokens, INTERMEDIATE, HIDDEN, rate, Arrays.toString(round(s)));
            out.printf(Locale.ROOT, "forward pass (captures made, then dropped): %.2f s median of %s, %.1f GFLOP/s (%.2f TFLOP of GEMMs), "
                            + "%.2f x sgemm, heap peak %s (last pass)%n",
                    wall, Arrays.toString(round(t)), flops / wall / 1e9, flops / 1e12, flops / wall / 1e9 / rate, peakHeap());
            out.printf(Locale.ROOT, "  of which inside its GEMMs: %.2f s median of %s (%.1f GFLOP/s there), the rest (weights decoded, "
                            + "RMSNorm, RoPE, softmax, SwiGLU): %.2f s%n",
                    gemm, Arrays.toString(round(inside)), la.gemmFlops() / inside[repeat - 1] / 1e9, wall - gemm);
            out.flush();
            if (profile) {
                resetPeaks();
                long t0 = System.nanoTime();
                ObjectNode doc = new CheckpointProfiler(new ProfileCalculator(engineItself)).external(forward, probe, ProfileOptions.DEFAULT, false);
                double e2e = (System.nanoTime() - t0) / 1e9;
                JsonNode head = doc.get("attention").get("layers." + (layers - 1) + ".head." + (HEADS - 1));
                out.printf(Locale.ROOT, "external profile (forward + captures written + %d attention profiles of %d² + %d XXᵀ): %.1f s, "
                                + "heap peak %s; last head's row/column-cut S = %.4f; load average %s%n",
                        doc.get("attention").size(), tokens, doc.get("outputs").size(), e2e, peakHeap(),
                        head.get("profile").get(head.get("row_column_cut").intValue() - 1).get("S").doubleValue(), loadAverage());
            }
        }
        return 0;
    }

    /** The model's largest GEMM, [T, 2048] × [8192, 2048]ᵀ, as the forward pass calls it: GFLOP/s, median of 5 after one untimed. */
    private static final class SgemmProbe {
        final LinearAlgebra la;
        final int t;
        final float[] x, w, y;

        SgemmProbe(LinearAlgebra la, int t) {
            this.la = la;
            this.t = t;
            SplittableRandom r = new SplittableRandom(2);
            x = new float[t * HIDDEN];
            w = new float[INTERMEDIATE * HIDDEN];
            y = new float[t * INTERMEDIATE];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            for (int i = 0; i < w.length; i++) w[i] = (float) (r.nextGaussian() / 45);
        }

        double gflops() {
            Runnable call = () -> la.multiplyFloat(false, true, t, INTERMEDIATE, HIDDEN, 1f, x, 0, HIDDEN, w, 0, HIDDEN, 0f, y, 0, INTERMEDIATE);
            call.run();
            return 2.0 * t * INTERMEDIATE * HIDDEN / Timing.medianSeconds(5, call) / 1e9;
        }
    }

    /** The machine's load averages (other work on the same cores shows in every timing). */
    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).strip();
        } catch (java.io.IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /** Takes each layer's captures and drops them: the forward pass alone. */
    private static final class Discard implements ProbeSink {
        @Override
        public void start(AttentionProbe.Geometry geometry, int[] inputIds, long[] positions) {}

        @Override
        public void layer(LayerCapture capture) {}
    }

    /** The heap in use, sampled every 2 ms by a daemon thread: its largest value since {@link #resetPeaks}. */
    private static final java.util.concurrent.atomic.AtomicLong SAMPLED = new java.util.concurrent.atomic.AtomicLong();

    static {
        Thread sampler = new Thread(() -> {
            var bean = ManagementFactory.getMemoryMXBean();
            while (true) {
                SAMPLED.accumulateAndGet(bean.getHeapMemoryUsage().getUsed(), Math::max);
                try {
                    Thread.sleep(2);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "heap-sampler");
        sampler.setDaemon(true);
        sampler.start();
    }

    private static void resetPeaks() {
        System.gc();
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) if (p.getType() == MemoryType.HEAP) p.resetPeakUsage();
        SAMPLED.set(0);
    }

    /** "sampled peak / pools' peaks added up" in MiB (the second an upper bound: the pools peak at different times). */
    private static String peakHeap() {
        long sum = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) if (p.getType() == MemoryType.HEAP) sum += p.getPeakUsage().getUsed();
        return (SAMPLED.get() >> 20) + " MiB sampled / " + (sum >> 20) + " MiB pools' peaks";
    }

    private static double[] round(double[] t) {
        double[] r = new double[t.length];
        for (int i = 0; i < t.length; i++) r[i] = Math.round(t[i] * 100) / 100.0;
        return r;
    }
}
