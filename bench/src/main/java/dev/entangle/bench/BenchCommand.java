package dev.entangle.bench;

import dev.entangle.core.delta.DeltaAssembler;
import dev.entangle.core.delta.DeltaMatrix;
import dev.entangle.core.engine.Engines;
import dev.entangle.core.profile.EntanglementProfile;
import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.profile.ProfileOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Exact-profile speed, side by side with the numpy anchor (bench/numpy_profile.py) in one run:
 * medians over repeats after a warm-up, and the ratio ours / numpy.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Time exact entanglement profiles of random matrices against the numpy anchor.",
        subcommands = ForwardBenchCommand.class)
final class BenchCommand implements Callable<Integer> {

    @Option(names = "--shape", split = ",", paramLabel = "RxC", description = "Matrix shapes (default: 1024x1024,2048x2048).")
    List<String> shapes = List.of("1024x1024", "2048x2048");

    @Option(names = "--engine", paramLabel = "NAME", description = "Spectrum engine: auto, openblas, nd4j or cuda (default: auto = cuda where a GPU and the CUDA libraries are present, else openblas; or ENTANGLE_ENGINE).")
    String engine;

    @Option(names = "--rank", paramLabel = "R", description = "0: dense (FFT) ΔW; R > 0: a LoRA ΔW = B·A of rank R, profiled from its factors (default: 0).")
    int rank = 0;

    @Option(names = "--adapter", paramLabel = "KIND", description = "With --rank: lora (B·A) or mps (B·A_mps, A_mps contracted from two cores each run; cols must be a square) (default: lora).")
    String adapter = "lora";

    @Option(names = "--bond", paramLabel = "CHI", description = "MPS adapter bond dimension between its cores (default: 8).")
    int bond = 8;

    @Option(names = "--repeat", paramLabel = "N", description = "Timed repeats per shape after one warm-up (default: 5).")
    int repeat = 5;

    @Option(names = "--numpy", paramLabel = "MODE", description = "Anchor: gram, gram-f32, svd or none (default: gram).")
    String numpy = "gram";

    @Option(names = "--python", paramLabel = "EXE", description = "Python with numpy for the anchor (default: python3).")
    String python = "python3";

    @Option(names = "--startup", description = "Whole processes instead, start-up included: ./entangle profile --tensor FILE of a float32 matrix against the numpy script on the same file (bench/numpy_profile.py --file FILE gram f32), in turn, ratio pair by pair (default shapes: 256x256, whose time is start-up, and 2048x2048).")
    boolean startup;

    @Option(names = "--attention", description = "One attention layer at the paper's scale instead: 32 heads of TxT (T from --tokens) profiled together with their Cardy numbers, side by side and one after another, against one dense TxT profile and numpy's.")
    boolean attention;

    @Option(names = "--tokens", paramLabel = "T", description = "With --attention: tokens of the probe (default: 1024).")
    int tokens = 1024;

    @Option(names = "--kernels", description = "Dense ΔW only: also time the profile's kernels one by one (its two Gram products, each cut's eigen-solve) and the balanced cut in float32 with its entropy error, to show where the time goes.")
    boolean kernels;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (startup) return startup(out);
        ProfileCalculator calc = engine == null ? ProfileCalculator.fromEnvironment() : new ProfileCalculator(Engines.named(engine));
        if (attention) {
            out.printf(Locale.ROOT, "engine %s, %d cores, %d repeats (median), numpy anchor: %s%n", calc.linearAlgebra().name(),
                    Runtime.getRuntime().availableProcessors(), repeat, numpy);
            out.flush();
            AttentionBench.Result r = new AttentionBench(calc, repeat).measure(tokens);
            r.print(out, "none".equals(numpy) ? Double.NaN : numpyMedian(tokens, tokens));
            out.flush();
            return 0;
        }
        out.printf(Locale.ROOT, "engine %s, %d cores, %d repeats (median), %s, numpy anchor: %s%n", calc.linearAlgebra().name(),
                Runtime.getRuntime().availableProcessors(), repeat, rank > 0 ? adapterName() + " ΔW rank " + rank + " from factors" : "dense ΔW", numpy);
        out.printf(Locale.ROOT, "%-12s %12s %12s %8s %10s%n", "shape", "entangle s", "numpy s", "ratio", "mid S");
        for (String shape : shapes) {
            String[] rc = shape.toLowerCase(Locale.ROOT).split("x");
            int rows = Integer.parseInt(rc[0]);
            int cols = Integer.parseInt(rc[1]);
            // numpy profiles the formed ΔW (a dense rows × cols matrix) either way; its time does not depend on the values.
            Supplier<DeltaMatrix> delta = deltaOf(rows, cols);
            EntanglementProfile p = calc.profile(delta.get(), ProfileOptions.DEFAULT); // warm-up (the timed runs give the same profile)
            double ours = Timing.medianSeconds(repeat, () -> calc.profile(delta.get(), ProfileOptions.DEFAULT));
            double anchor = "none".equals(numpy) ? Double.NaN : numpyMedian(rows, cols);
            double mid = p.cuts().get(p.cuts().size() / 2).entropy();
            out.printf(Locale.ROOT, "%-12s %12.3f %12.3f %8.3f %10.4f%n", shape, ours, anchor, ours / anchor, mid);
            if (kernels && rank <= 0) new KernelBreakdown(calc.linearAlgebra(), repeat).measure(rows, cols, delta.get().data()).print(out, anchor, ours);
            out.flush();
        }
        return 0;
    }

    private int startup(PrintWriter out) throws Exception {
        List<String> which = spec.commandLine().getParseResult().hasMatchedOption("--shape") ? shapes : List.of("256x256", "2048x2048");
        StartupBench bench = new StartupBench(StartupBench.repository(), python, repeat);
        out.printf(Locale.ROOT, "whole processes: ./entangle profile --tensor FILE --compact vs %s bench/numpy_profile.py --file FILE gram f32, %d cores, %d pairs (medians; ratio pair by pair)%n",
                python, Runtime.getRuntime().availableProcessors(), repeat);
        StartupBench.printHeader(out);
        out.flush();
        for (String shape : which) {
            String[] rc = shape.toLowerCase(Locale.ROOT).split("x");
            StartupBench.print(out, bench.measure(Integer.parseInt(rc[0]), Integer.parseInt(rc[1])));
            out.flush();
        }
        return 0;
    }

    private String adapterName() {
        return "mps".equals(adapter) ? "MPS-adapter (χ " + bond + ")" : "LoRA";
    }

    /**
     * The ΔW to time, made inside the timed region where a checkpoint would make it: dense, LoRA
     * factors as stored, or an MPS adapter's A_mps contracted from its cores (paper App. IX).
     */
    private Supplier<DeltaMatrix> deltaOf(int rows, int cols) {
        if (rank <= 0) {
            DeltaMatrix dense = DeltaMatrix.dense(0, "bench", rows, cols, RandomMatrix.gaussian(rows * cols, 0), List.of());
            return () -> dense;
        }
        double[] b = RandomMatrix.gaussian(rows * rank, 1);
        return switch (adapter) {
            case "lora" -> {
                DeltaMatrix lora = DeltaMatrix.lowRank(0, "bench", rows, cols, new DeltaMatrix.LowRank(b, RandomMatrix.gaussian(rank * cols, 2), rank), List.of());
                yield () -> lora;
            }
            case "mps" -> {
                int d1 = (int) Math.round(Math.sqrt(cols));
                if (d1 * d1 != cols) throw new IllegalArgumentException("--adapter mps needs a square number of columns, got " + cols);
                double[] core1 = RandomMatrix.gaussian(rank * bond * d1, 3), core2 = RandomMatrix.gaussian(bond * d1, 4);
                yield () -> DeltaMatrix.lowRank(0, "bench", rows, cols, new DeltaMatrix.LowRank(b,
                        DeltaAssembler.contractMpsCores(core1, core2, rank, bond, d1, d1), rank), List.of());
            }
            default -> throw new IllegalArgumentException("--adapter is lora or mps, not '" + adapter + "'");
        };
    }

    private double numpyMedian(int rows, int cols) throws Exception {
        Path script = findScript();
        if (script == null) return Double.NaN;
        String method = numpy.startsWith("svd") ? "svd" : "gram";
        List<String> cmd = new ArrayList<>(List.of(python, script.toString(), "" + rows, "" + cols, method));
        if (numpy.endsWith("f32")) cmd.add("f32");
        double[] t = new double[repeat];
        Pattern secs = Pattern.compile(": ([0-9.]+) s");
        for (int i = 0; i < repeat; i++) {
            Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String line;
            String all = "";
            try (BufferedReader r = new BufferedReader(new InputStreamReader(proc.getInputStream(), StandardCharsets.UTF_8))) {
                while ((line = r.readLine()) != null) all += line + "\n";
            }
            if (proc.waitFor() != 0) {
                spec.commandLine().getErr().println("numpy anchor failed: " + all.strip());
                return Double.NaN;
            }
            Matcher m = secs.matcher(all);
            if (!m.find()) return Double.NaN;
            t[i] = Double.parseDouble(m.group(1));
        }
        return Timing.median(t);
    }

    private static Path findScript() {
        for (Path q = Path.of("").toAbsolutePath(); q != null; q = q.getParent()) {
            Path s = q.resolve("bench/numpy_profile.py");
            if (Files.isRegularFile(s)) return s;
        }
        return null;
    }
}
