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
import picocli.CommandLine;
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
        description = "Time the forward pass of a generated Llama-3.2-1B-shaped (or 8B-shaped) model and its whole external profile.")
final class ForwardBenchCommand implements Callable<Integer> {

    @Option(names = "--shape", paramLabel = "1b|8b", description = "1b: Llama-3.2-1B (16 layers, hidden 2048, intermediate 8192; the default); "
            + "8b: Llama-3.1-8B (32 layers, hidden 4096, intermediate 14336).")
    String shapeName = "1b";

    @Option(names = "--model", paramLabel = "DIR", description = "The generated model's folder (default: ~/.cache/entangle/bench/llama-<shape>-shaped-bf16); written when absent.")
    Path model;

    @Option(names = "--tokens", paramLabel = "T", description = "Probe length (default: 1024).")
    int tokens = 1024;

    @Option(names = "--repeat", paramLabel = "N", description = "Timed forward passes after one warm-up (default: 3).")
    int repeat = 3;

    @Option(names = "--layers", paramLabel = "L", description = "Decoder layers of the generated model (default: the shape's).")
    int layers;

    @Option(names = "--engine", paramLabel = "NAME", description = "auto, openblas, nd4j or cuda (default: auto).")
    String engine = "auto";

    @Option(names = "--no-profile", negatable = true, description = "Also time the whole external profile (default: yes).")
    boolean profile = true;

    @Spec
    CommandSpec spec;

    /** A model family as generated: its attention shape and the rest of its body. */
    private record Family(SyntheticLlama.Shape shape, SyntheticLlama.Body body) {}

    /** The family {@code --shape} names. */
    private Family family() {
        return switch (shapeName) {
            case "1b" -> new Family(SyntheticLlama.LLAMA_3_2_1B, SyntheticLlama.LLAMA_3_2_1B_BODY);
            case "8b" -> new Family(SyntheticLlama.LLAMA_3_1_8B, SyntheticLlama.LLAMA_3_1_8B_BODY);
            default -> throw new CommandLine.ParameterException(spec.commandLine(), "--shape: " + shapeName + " is not 1b or 8b");
        };
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Family family = family();
        SyntheticLlama.Shape own = family.shape();
        boolean ownLayers = layers <= 0 || layers == own.layers();
        SyntheticLlama.Shape shape = ownLayers ? own : new SyntheticLlama.Shape(own.name(), layers, own.hidden(), own.heads(), own.kvHeads());
        SyntheticLlama.Body body = family.body();
        Path dir = model != null ? model : Path.of(System.getProperty("user.home"), ".cache", "entangle", "bench",
                shape.name() + "-shaped-bf16" + (ownLayers ? "" : "-" + shape.layers() + "l"));
        if (!Files.isRegularFile(dir.resolve("model.safetensors"))) {
            long t0 = System.nanoTime();
            SyntheticLlama.writeWholeModel(dir, shape, body, DType.BF16, 20260101);
            out.printf(Locale.ROOT, "generated %s in %.1f s%n", dir, (System.nanoTime() - t0) / 1e9);
        }
        LinearAlgebra engineItself = Engines.named(engine);
        TimedEngine la = new TimedEngine(engineItself);
        int[] ids = new SplittableRandom(1).ints(tokens, 0, body.vocab()).toArray();
        ProbeTokens probe = new ProbeTokens(ids, dir.resolve("bench-tokens"), null);
        out.printf(Locale.ROOT, "engine %s, %d cores, max heap %d MiB, T = %d, %d repeats (median), load average %s%n", la.name(),
                Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20, tokens, repeat, loadAverage());

        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            LlamaForward forward = LlamaForward.of(ckpt, null, la);
            double flops = LlamaForward.gemmFlops(forward.config(), tokens);
            SgemmProbe sgemm = new SgemmProbe(engineItself, tokens, shape.hidden(), body.intermediate());
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
                    tokens, body.intermediate(), shape.hidden(), rate, Arrays.toString(round(s)));
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
                JsonNode head = doc.get("attention").get("layers." + (shape.layers() - 1) + ".head." + (shape.heads() - 1));
                out.printf(Locale.ROOT, "external profile (forward + captures written + %d attention profiles of %d² + %d XXᵀ): %.1f s, "
                                + "heap peak %s; last head's row/column-cut S = %.4f; load average %s%n",
                        doc.get("attention").size(), tokens, doc.get("outputs").size(), e2e, peakHeap(),
                        head.get("profile").get(head.get("row_column_cut").intValue() - 1).get("S").doubleValue(), loadAverage());
            }
        }
        return 0;
    }

    /**
     * The model's largest GEMM, [T, hidden] × [intermediate, hidden]ᵀ, as the forward pass calls it:
     * GFLOP/s, median of 5 after one untimed. Its operands are made for each measurement and dropped
     * after it, so the pass's heap peak does not count them.
     */
    private static final class SgemmProbe {
        final LinearAlgebra la;
        final int t, hidden, intermediate;

        SgemmProbe(LinearAlgebra la, int t, int hidden, int intermediate) {
            this.la = la;
            this.t = t;
            this.hidden = hidden;
            this.intermediate = intermediate;
        }

        double gflops() {
            SplittableRandom r = new SplittableRandom(2);
            float[] x = new float[t * hidden];
            float[] w = new float[intermediate * hidden];
            float[] y = new float[t * intermediate];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            for (int i = 0; i < w.length; i++) w[i] = (float) (r.nextGaussian() / 45);
            Runnable call = () -> la.multiplyFloat(false, true, t, intermediate, hidden, 1f, x, 0, hidden, w, 0, hidden, 0f, y, 0, intermediate);
            call.run();
            return 2.0 * t * intermediate * hidden / Timing.medianSeconds(5, call) / 1e9;
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
