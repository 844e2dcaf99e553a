package dev.entangle.cli;

import dev.entangle.core.profile.Target;
import dev.entangle.proto.query.v1.Metric;
import dev.entangle.proto.query.v1.QueryGrpc;
import dev.entangle.proto.query.v1.SweepAxis;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

@Command(name = "plot", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Paper-style figures (SVG and PNG) from the query service: profiles of runs side by side with the Page",
                "curve and ln r lines, normalised attention profiles per head, timelines against step, sweeps."})
final class PlotCommand implements Callable<Integer> {

    @Option(names = "--runs", split = ",", required = true, paramLabel = "A,B,C")
    List<String> runs;

    @Option(names = "--layer", paramLabel = "N", description = "Decoder layer (default: 0).")
    int layer;

    @Option(names = "--module", paramLabel = "NAME", description = "Module (default: q_proj).")
    String module = "q_proj";

    @Option(names = "--figures", split = ",", paramLabel = "KIND",
            description = "Which: profiles, attention, timeline, sweep (default: all).")
    List<String> figures = List.of("profiles", "attention", "timeline", "sweep");

    @Option(names = "--sweep-by", paramLabel = "alpha|r|lr|chi", description = "Hyper-parameter of the sweep (default: alpha).")
    String sweepBy = "alpha";

    @Option(names = "--out", paramLabel = "DIR", description = "Folder for the figures (default: figures).")
    Path out = Path.of("figures");

    @Mixin
    Endpoints.QueryOption queryAt;

    @Mixin
    Errors.VerboseOption verbosity;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        ManagedChannel ch = Endpoints.channel(queryAt.endpoint);
        try {
            List<Path> written = draw(QueryGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS), runs, layer, module,
                    figures, sweepBy, out);
            written.forEach(p -> spec.commandLine().getOut().println(p));
            spec.commandLine().getOut().flush();
            return 0;
        } catch (StatusRuntimeException e) {
            throw Errors.remote(queryAt.endpoint, e);
        } finally {
            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    static List<Path> draw(QueryGrpc.QueryBlockingStub query, List<String> runs, int layer, String module, List<String> kinds,
                           String sweepBy, Path out) throws Exception {
        System.setProperty("java.awt.headless", "true");
        Figures f = new Figures(query, out);
        String target = Target.delta(layer, module).key();
        SweepAxis axis = sweepAxis(sweepBy);
        List<Path> written = new ArrayList<>();
        for (String kind : kinds) {
            switch (kind) {
                case "profiles" -> written.addAll(f.profiles(runs, target));
                case "attention" -> written.addAll(f.attentionHeads(runs.getFirst(), layer));
                case "timeline" -> written.addAll(f.timeline(runs, target, Metric.MID_S));
                case "sweep" -> written.addAll(f.sweep(runs, target, axis));
                default -> throw new IllegalArgumentException("unknown figure '" + kind + "' (profiles, attention, timeline, sweep)");
            }
        }
        return written;
    }

    /** --sweep-by's name (alpha, r, lr, chi) as the query API's axis. */
    static SweepAxis sweepAxis(String name) {
        for (SweepAxis a : List.of(SweepAxis.ALPHA, SweepAxis.R, SweepAxis.LR, SweepAxis.CHI)) {
            if (a.name().equalsIgnoreCase(name)) return a;
        }
        throw new IllegalArgumentException("--sweep-by must be alpha, r, lr or chi, not '" + name + "'");
    }
}
