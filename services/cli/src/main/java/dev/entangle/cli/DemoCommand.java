package dev.entangle.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.entangle.proto.ingest.v1.IngestResult;
import dev.entangle.proto.ingest.v1.UploadHeader;
import dev.entangle.proto.query.v1.CompareRequest;
import dev.entangle.proto.query.v1.LayerNoHair;
import dev.entangle.proto.query.v1.ListRunsRequest;
import dev.entangle.proto.query.v1.NoHairRequest;
import dev.entangle.proto.query.v1.QueryGrpc;
import dev.entangle.proto.query.v1.RunSummary;
import dev.entangle.proto.query.v1.StepProgress;
import dev.entangle.proto.query.v1.StepSelector;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The main job on the local stack ({@code ./entangle demo} starts it first): ingest the bundled
 * example checkpoints, show profiling progress, print the LoRA vs FFT vs MPS comparison and
 * the no-hair report, write the figures, and tell where the gRPC API and the dashboard listen.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Ingest the bundled examples into the running local stack, profile, compare, plot (./entangle demo starts the stack first).")
final class DemoCommand implements Callable<Integer> {

    static final String BASE = "tiny-llama";

    @Option(names = "--examples", paramLabel = "DIR", description = "Example checkpoints (default: examples/tiny-llama).")
    Path examples = Path.of(System.getProperty("entangle.repo", ".")).resolve("examples/tiny-llama");

    @Option(names = "--figures", paramLabel = "DIR", description = "Where figures go (default: .entangle/figures).")
    Path figures = Path.of(System.getProperty("entangle.repo", ".")).resolve(".entangle/figures");

    @Mixin
    Endpoints.IngestOption ingestAt;

    @Mixin
    Endpoints.QueryOption queryAt;

    @Option(names = "--timeout", paramLabel = "SECONDS", description = "How long to wait for profiling (default: ${DEFAULT-VALUE}).")
    int timeout = 600;

    @Mixin
    Errors.VerboseOption verbosity;

    @Spec
    CommandSpec spec;

    /** One example checkpoint folder with its run name and step. */
    record Example(Path dir, String run, long step, boolean fft) {}

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        List<Example> list = examples();
        ManagedChannel ingest = Endpoints.channel(ingestAt.endpoint);
        ManagedChannel query = Endpoints.channel(queryAt.endpoint);
        try {
            out.printf("1. Ingesting %d example checkpoints from %s (base model %s)%n", list.size(), examples, BASE);
            out.flush();
            IngestResult base = Uploader.upload(ingest, examples.resolve("base"), UploadHeader.newBuilder().setBaseModelName(BASE).build(), p -> { });
            out.printf("   base %-28s %s%n", BASE, base.getState());
            Map<String, Long> latest = new HashMap<>();
            for (Example e : list) {
                UploadHeader.Builder h = UploadHeader.newBuilder();
                if (e.fft()) h.setBaseId(BASE);
                IngestResult r = Uploader.upload(ingest, e.dir(), h.build(), p -> { });
                out.printf(Locale.ROOT, "   %-22s step %4d  %-10s %8.1f kB stored  id %s…%n", r.getRun(), r.getStep(), r.getState(),
                        r.getBytesStored() / 1e3, r.getCheckpointId().substring(0, 12));
                out.flush();
                latest.merge(r.getRun(), r.getStep(), Math::max);
            }

            out.println("2. Profiling (profiler service, units through Kafka)");
            out.flush();
            QueryGrpc.QueryBlockingStub q = QueryGrpc.newBlockingStub(query);
            waitForProfiles(q, list, out);

            List<String> compared = List.of("lora-r16-a16", "fft-lr1e-4", "mps-r8-chi8-a16").stream().filter(latest::containsKey).toList();
            out.println();
            out.println("3. LoRA vs FFT vs MPS adaptation, layer 0 q_proj, latest step (query service, Page baseline from the theory service)");
            CompareCommand.print(q.withDeadlineAfter(60, TimeUnit.SECONDS).compare(CompareRequest.newBuilder().addAllRuns(compared)
                    .setLayer(0).setModule("q_proj").setStep(StepSelector.newBuilder().setLatest(true)).build()), out);

            out.println();
            out.println("4. No-hair report across all runs: spread of internal (ΔW) vs external (attention, XXᵀ) profiles");
            List<String> all = new ArrayList<>(latest.keySet());
            all.sort(null);
            out.printf("%6s %16s %16s %10s%n", "layer", "internal spread", "external spread", "ratio");
            for (LayerNoHair l : q.withDeadlineAfter(60, TimeUnit.SECONDS).noHair(NoHairRequest.newBuilder().addAllRuns(all)
                    .setStep(StepSelector.newBuilder().setLatest(true)).build()).getLayersList()) {
                out.printf(Locale.ROOT, "%6d %16.4f %16.4f %10.2f%n", l.getLayer(), l.getInternalSpread(), l.getExternalSpread(), l.getRatio());
            }
            out.println("   (ratio > 1: the weight updates differ across methods more than what the layers do from outside)");

            out.println();
            out.println("5. Figures (SVG and PNG)");
            out.flush();
            List<Path> written = new ArrayList<>();
            QueryGrpc.QueryBlockingStub fq = q.withDeadlineAfter(120, TimeUnit.SECONDS);
            written.addAll(PlotCommand.draw(fq, all, 0, "q_proj", List.of("profiles", "timeline"), "alpha", figures));
            written.addAll(PlotCommand.draw(fq, List.of("lora-r16-a16"), 0, "q_proj", List.of("attention"), "alpha", figures));
            List<String> alphaRuns = all.stream().filter(r -> r.startsWith("lora-r16")).toList();
            if (alphaRuns.size() > 1) written.addAll(PlotCommand.draw(fq, alphaRuns, 0, "q_proj", List.of("sweep"), "alpha", figures));
            for (Path p : written) out.println("   " + p);

            out.println();
            out.println("6. The gRPC API (reflection on, e.g. grpcurl -plaintext localhost:8084 list):");
            out.println("   query  " + queryAt.endpoint + "   entangle.query.v1.Query (ListRuns, GetProfile, Compare, NoHair, Timeline, Sweep, WatchRun)");
            out.println("   ingest " + ingestAt.endpoint + "   entangle.ingest.v1.CheckpointIngest (Upload, Register)");
            out.println("   theory localhost:8083   entangle.theory.v1.Theory (Page, MarchenkoPastur, Cardy, StableRank, MonteCarlo, ...)");
            out.println();
            out.println("7. The dashboard (the paper's figures for every run, live as profiles land; same port as the query API):");
            out.println("   " + dashboard(queryAt.endpoint));
            out.println("   Stop everything with ./entangle down.");
            out.flush();
            return 0;
        } catch (StatusRuntimeException e) {
            throw Errors.remote(queryAt.endpoint + " / " + ingestAt.endpoint, e);
        } finally {
            ingest.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
            query.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** The dashboard's address: the query service serves it on its own port (HTTP and gRPC share it). */
    static String dashboard(String queryEndpoint) {
        return (ClientTls.fromEnvironment().isPresent() ? "https://" : "http://") + queryEndpoint + "/";
    }

    /** Polls ListRuns until every ingested step reports all its units, printing progress as it changes. */
    private void waitForProfiles(QueryGrpc.QueryBlockingStub q, List<Example> list, PrintWriter out) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeout);
        String last = "";
        long t0 = System.nanoTime();
        while (true) {
            Map<String, Map<Long, StepProgress>> progress = new HashMap<>();
            for (RunSummary r : q.withDeadlineAfter(30, TimeUnit.SECONDS).listRuns(ListRunsRequest.getDefaultInstance()).getRunsList()) {
                for (StepProgress p : r.getProgressList()) progress.computeIfAbsent(r.getRun(), k -> new HashMap<>()).put(p.getStep(), p);
            }
            int done = 0;
            int total = 0;
            int complete = 0;
            for (Example e : list) {
                StepProgress p = progress.getOrDefault(e.run(), Map.of()).get(e.step());
                if (p == null) continue;
                done += p.getUnitsDone();
                total += p.getUnitsTotal();
                if (p.getUnitsDone() >= p.getUnitsTotal()) complete++;
            }
            String line = String.format(Locale.ROOT, "   %d/%d checkpoints complete, %d units done", complete, list.size(), done);
            if (!line.equals(last)) {
                out.println(line);
                out.flush();
                last = line;
            }
            if (complete == list.size()) {
                out.printf(Locale.ROOT, "   all %d units profiled in %.1f s%n", total, (System.nanoTime() - t0) / 1e9);
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("profiling did not finish in " + timeout + " s (" + line.trim()
                        + "); see the profiler's log under .entangle/stack/logs");
            }
            Thread.sleep(500);
        }
    }

    /** runs/RUN/checkpoint-STEP folders with the run and step their trainer_event.json names. */
    List<Example> examples() throws IOException {
        if (!Files.isDirectory(examples.resolve("runs"))) {
            throw new IllegalArgumentException(examples + ": no runs/ folder of example checkpoints");
        }
        JsonMapper json = JsonMapper.builder().build();
        List<Example> out = new ArrayList<>();
        try (Stream<Path> runs = Files.list(examples.resolve("runs"))) {
            for (Path run : runs.filter(Files::isDirectory).sorted().toList()) {
                try (Stream<Path> cks = Files.list(run)) {
                    List<Path> sorted = cks.filter(p -> p.getFileName().toString().matches("checkpoint-\\d+"))
                            .sorted(java.util.Comparator.comparingLong(p -> Long.parseLong(p.getFileName().toString().substring("checkpoint-".length()))))
                            .toList();
                    for (Path c : sorted) {
                        JsonNode ev = json.readTree(c.resolve("trainer_event.json").toFile());
                        out.add(new Example(c, ev.path("run").asText(run.getFileName().toString()),
                                ev.path("step").asLong(Long.parseLong(c.getFileName().toString().substring("checkpoint-".length()))),
                                Files.exists(c.resolve("config.json"))));
                    }
                }
            }
        }
        return out;
    }
}
