package dev.entangle.bench;

import dev.entangle.cli.Endpoints;
import dev.entangle.cli.Errors;
import dev.entangle.cli.Uploader;
import dev.entangle.core.safetensors.DType;
import dev.entangle.proto.ingest.v1.IngestResult;
import dev.entangle.proto.ingest.v1.UploadHeader;
import dev.entangle.proto.query.v1.CompareRequest;
import dev.entangle.proto.query.v1.CompareResponse;
import dev.entangle.proto.query.v1.ListRunsRequest;
import dev.entangle.proto.query.v1.QueryGrpc;
import dev.entangle.proto.query.v1.RunSummary;
import dev.entangle.proto.query.v1.StepSelector;
import io.grpc.ManagedChannel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * End-to-end timing on the running stack: a generated Llama-shaped checkpoint from the start
 * of its upload until its comparison is queryable (issue target: a Llama-3.2-1B-shaped LoRA,
 * r = 256, bf16, ≤ 15 s with heaps ≤ 1 GiB), plus the services' heap limits and peaks.
 */
@Command(name = "bench-stack", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Upload → queryable comparison time of a generated Llama-shaped checkpoint on the running stack.")
final class StackBenchCommand implements Callable<Integer> {

    @Option(names = "--kind", paramLabel = "lora|fft", description = "Checkpoint kind (default: lora).")
    String kind = "lora";

    @Option(names = "--model", paramLabel = "NAME", description = "llama-3.2-1b or llama-3.1-8b (default: llama-3.2-1b).")
    String model = "llama-3.2-1b";

    @Option(names = "--rank", paramLabel = "R", description = "LoRA rank (default: 256).")
    int rank = 256;

    @Option(names = "--dtype", paramLabel = "DTYPE", description = "bf16, f16 or f32 (default: bf16 for LoRA, f32 for FFT).")
    String dtype;

    @Mixin
    Endpoints.IngestOption ingestAt;

    @Mixin
    Endpoints.QueryOption queryAt;

    @Option(names = "--profiler", paramLabel = "HOST:PORT", description = "Profiler service, for its heap metrics (default: $ENTANGLE_PROFILER or localhost:8082).")
    String profilerAt = Endpoints.PROFILER;

    @Mixin
    Errors.VerboseOption verbosity;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        SyntheticLlama.Shape shape = switch (model) {
            case "llama-3.2-1b" -> SyntheticLlama.LLAMA_3_2_1B;
            case "llama-3.1-8b" -> SyntheticLlama.LLAMA_3_1_8B;
            default -> throw new IllegalArgumentException("--model must be llama-3.2-1b or llama-3.1-8b, not " + model);
        };
        boolean fft = switch (kind) {
            case "lora" -> false;
            case "fft" -> true;
            default -> throw new IllegalArgumentException("--kind must be lora or fft, not " + kind);
        };
        DType dt = DType.parse((dtype == null ? (fft ? "f32" : "bf16") : dtype).toUpperCase(Locale.ROOT))
                .filter(DType::floating).orElseThrow(() -> new IllegalArgumentException("--dtype must be bf16, f16 or f32"));
        Path tmp = Files.createTempDirectory("entangle-bench-");
        ManagedChannel ingest = Endpoints.channel(ingestAt.endpoint);
        ManagedChannel query = Endpoints.channel(queryAt.endpoint);
        try {
            long now = System.currentTimeMillis();
            String stamp = Long.toString(now, 36);
            // fresh numbers every run: the profiler keeps blobs by digest, and a rerun of the same
            // checkpoint would find them all in its cache instead of fetching them from S3
            long seed = now;
            String run = "bench-" + kind + "-" + shape.name().replace('.', '-') + "-" + stamp;
            long g0 = System.nanoTime();
            Path ckpt = tmp.resolve("checkpoint");
            UploadHeader.Builder h = UploadHeader.newBuilder().setRun(run).setStep(1);
            if (fft) {
                Path base = tmp.resolve("base");
                SyntheticLlama.writeFullModel(base, shape, dt, seed, 0, 0);
                SyntheticLlama.writeFullModel(ckpt, shape, dt, seed, 0.02, 0);
                String baseId = "bench-base-" + stamp;
                long b0 = System.nanoTime();
                Uploader.upload(ingest, base, UploadHeader.newBuilder().setBaseModelName(baseId).build(), p -> { });
                out.printf(Locale.ROOT, "base %s registered in %.2f s (once per base model, not counted)%n", baseId, (System.nanoTime() - b0) / 1e9);
                h.setBaseId(baseId);
            } else {
                SyntheticLlama.writeLora(ckpt, shape, rank, 2.0 * rank, dt, seed);
            }
            long bytes;
            try (Stream<Path> s = Files.list(ckpt)) {
                bytes = s.mapToLong(p -> p.toFile().length()).sum();
            }
            out.printf(Locale.ROOT, "generated %s %s (%d layers, q %dx%d, v %dx%d%s, %s): %.1f MB in %.1f s%n", shape.name(), kind,
                    shape.layers(), shape.hidden(), shape.hidden(), shape.kvDim(), shape.hidden(), fft ? "" : ", r " + rank, dt,
                    bytes / 1e6, (System.nanoTime() - g0) / 1e9);
            out.flush();

            Map<String, Double> before = scrape(profilerAt);
            long t0 = System.nanoTime();
            IngestResult r = Uploader.upload(ingest, ckpt, h.build(), p -> { });
            long t1 = System.nanoTime();
            QueryGrpc.QueryBlockingStub q = QueryGrpc.newBlockingStub(query);
            RunSummary summary = null;
            while (System.nanoTime() - t0 < TimeUnit.MINUTES.toNanos(10)) {
                summary = q.listRuns(ListRunsRequest.getDefaultInstance()).getRunsList().stream()
                        .filter(x -> x.getRun().equals(run)).findFirst().orElse(null);
                if (summary != null && summary.getUnitsTotal() > 0 && summary.getUnitsDone() >= summary.getUnitsTotal()) break;
                Thread.sleep(50);
            }
            if (summary == null || summary.getUnitsDone() < summary.getUnitsTotal()) throw new IllegalStateException("profiling did not finish in 10 minutes");
            CompareResponse cmp = q.compare(CompareRequest.newBuilder().addRuns(run).setLayer(0).setModule("q_proj")
                    .setStep(StepSelector.newBuilder().setLatest(true)).build());
            long t2 = System.nanoTime();
            if (!cmp.getRuns(0).getFound()) throw new IllegalStateException("comparison not found after profiling");
            out.printf(Locale.ROOT, "upload + validate + store + publish: %.2f s (%s, %d targets)%n", (t1 - t0) / 1e9, r.getState(), r.getTargetsCount());
            out.printf(Locale.ROOT, "profiling %d units until queryable:  %.2f s%n", summary.getUnitsTotal(), (t2 - t1) / 1e9);
            out.printf(Locale.ROOT, "upload → queryable comparison:       %.2f s%n", (t2 - t0) / 1e9);
            double lnR = cmp.getRuns(0).getBaselines().getLnR();   // 0: not an adapter, no rank cap
            out.printf(Locale.ROOT, "layers.0.q_proj: S at the row/column cut %.4f (%s), valley depth %.4f%n",
                    cmp.getRuns(0).getRowColumnS(), lnR > 0 ? String.format(Locale.ROOT, "cap ln r = %.4f", lnR) : "no rank cap",
                    cmp.getRuns(0).getValleyDepth());
            units(out, before, scrape(profilerAt), (t2 - t1) / 1e9);
            // each service answers HTTP (its metrics) on its gRPC port
            heap(out, "checkpoint-ingest", ingestAt.endpoint);
            heap(out, "profiler", profilerAt);
            out.flush();
            return 0;
        } finally {
            ingest.shutdownNow();
            query.shutdownNow();
            try (Stream<Path> s = Files.walk(tmp)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        }
    }

    private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\\{[^}]*\\})?) ([-+0-9.eE]+|NaN)$");
    private static final Pattern UNIT = Pattern.compile("entangle_profiler_unit_seconds_(count|sum)\\{(.*)\\}");
    private static final Pattern PHASE = Pattern.compile("entangle_profiler_phase_seconds_(count|sum)\\{.*phase=\"([a-z]+)\".*\\}");

    /** The profiler's metrics as series → value (empty where they cannot be read). */
    private static Map<String, Double> scrape(String hostPort) {
        Map<String, Double> m = new TreeMap<>();
        try {
            String text = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://" + hostPort + "/q/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            for (String line : text.split("\n")) {
                Matcher x = SAMPLE.matcher(line.strip());
                if (x.matches() && !x.group(2).equals("NaN")) m.put(x.group(1), Double.parseDouble(x.group(2)));
            }
        } catch (Exception e) {
            // reported as missing figures below
        }
        return m;
    }

    /**
     * Where the profiling time went, from the profiler's metrics over this upload: units per kind
     * and shape (count, mean seconds), each phase's seconds summed over the units, and how busy
     * the workers were (unit seconds per second of profiling: at most the number of workers).
     */
    private static void units(PrintWriter out, Map<String, Double> before, Map<String, Double> after, double wall) {
        Map<String, double[]> byShape = new TreeMap<>();
        Map<String, double[]> byPhase = new java.util.LinkedHashMap<>();
        for (String p : List.of("fetch", "assemble", "profile", "store")) byPhase.put(p, new double[2]);
        for (Map.Entry<String, Double> e : after.entrySet()) {
            double d = e.getValue() - before.getOrDefault(e.getKey(), 0.0);
            Matcher u = UNIT.matcher(e.getKey());
            if (u.matches()) byShape.computeIfAbsent(u.group(2).replaceAll("\"", ""), k -> new double[2])[u.group(1).equals("count") ? 0 : 1] += d;
            Matcher ph = PHASE.matcher(e.getKey());
            if (ph.matches() && byPhase.containsKey(ph.group(2))) byPhase.get(ph.group(2))[ph.group(1).equals("count") ? 0 : 1] += d;
        }
        double unitSeconds = 0;
        for (Map.Entry<String, double[]> e : byShape.entrySet()) {
            double[] v = e.getValue();
            if (v[0] < 0.5) continue;
            unitSeconds += v[1];
            out.printf(Locale.ROOT, "  units %-40s %4.0f × %6.3f s = %7.2f s%n", e.getKey(), v[0], v[1] / v[0], v[1]);
        }
        if (unitSeconds == 0) {
            out.println("  profiler unit metrics unavailable");
            return;
        }
        double phases = 0;
        StringBuilder b = new StringBuilder();
        for (Map.Entry<String, double[]> e : byPhase.entrySet()) {
            phases += e.getValue()[1];
            b.append(String.format(Locale.ROOT, "%s %.2f s, ", e.getKey(), e.getValue()[1]));
        }
        out.printf(Locale.ROOT, "  unit seconds %.2f: %spublishing and the rest %.2f s%n", unitSeconds, b, unitSeconds - phases);
        out.printf(Locale.ROOT, "  workers busy %.2f on average (unit seconds / %.2f s of profiling); profiling phase alone %.2f s = %.2f workers' worth%n",
                unitSeconds / wall, wall, byPhase.get("profile")[1], byPhase.get("profile")[1] / wall);
    }

    /** Heap limit and current use of a service at {@code hostPort}, from its Prometheus metrics. */
    private static void heap(PrintWriter out, String service, String hostPort) {
        try {
            String m = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://" + hostPort + "/q/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            out.printf(Locale.ROOT, "%s heap: limit %.0f MiB, in use %.0f MiB%n", service,
                    sum(m, "jvm_memory_max_bytes\\{area=\"heap\"[^}]*\\} ([0-9.E+]+)") / (1 << 20),
                    sum(m, "jvm_memory_used_bytes\\{area=\"heap\"[^}]*\\} ([0-9.E+]+)") / (1 << 20));
        } catch (Exception e) {
            out.printf("%s heap: metrics unavailable (%s)%n", service, e.getMessage());
        }
    }

    private static double sum(String metrics, String regex) {
        Matcher x = Pattern.compile(regex).matcher(metrics);
        double s = 0;
        while (x.find()) s += Math.max(0, Double.parseDouble(x.group(1)));
        return s;
    }
}
