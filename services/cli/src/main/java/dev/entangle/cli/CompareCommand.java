package dev.entangle.cli;

import com.google.protobuf.util.JsonFormat;
import dev.entangle.proto.query.v1.CompareRequest;
import dev.entangle.proto.query.v1.CompareResponse;
import dev.entangle.proto.query.v1.QueryGrpc;
import dev.entangle.proto.query.v1.RunComparison;
import dev.entangle.proto.query.v1.StepSelector;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

@Command(name = "compare", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Profiles of several runs side by side (cuts × runs) with the ln r caps and summary metrics, from the query service.")
final class CompareCommand implements Callable<Integer> {

    @Option(names = "--runs", split = ",", required = true, paramLabel = "A,B,C")
    List<String> runs;

    @Option(names = "--layer", paramLabel = "N", description = "Decoder layer (default: 0).")
    int layer;

    @Option(names = "--module", paramLabel = "NAME", description = "Module (default: q_proj).")
    String module = "q_proj";

    @Option(names = "--target", paramLabel = "NAME", description = "Any profile name instead, e.g. layers.0.head.3 or layers.1.XXt.")
    String target;

    @Option(names = "--step", paramLabel = "N|latest", description = "Training step (default: latest).")
    String step = "latest";

    @Option(names = "--json", description = "JSON instead of the table.")
    boolean json;

    @Mixin
    Endpoints.QueryOption queryAt;

    @Mixin
    Errors.VerboseOption verbosity;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        CompareRequest.Builder req = CompareRequest.newBuilder().addAllRuns(runs).setLayer(layer).setModule(module);
        if (target != null) req.setTarget(target);
        req.setStep("latest".equals(step) ? StepSelector.newBuilder().setLatest(true) : StepSelector.newBuilder().setStep(Long.parseLong(step)));
        ManagedChannel ch = Endpoints.channel(queryAt.endpoint);
        try {
            CompareResponse r = QueryGrpc.newBlockingStub(ch).withDeadlineAfter(60, TimeUnit.SECONDS).compare(req.build());
            PrintWriter out = spec.commandLine().getOut();
            if (json) out.println(JsonFormat.printer().print(r));
            else print(r, out);
            out.flush();
            return 0;
        } catch (StatusRuntimeException e) {
            throw Errors.remote(queryAt.endpoint, e);
        } finally {
            ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
    }

    /** cuts × runs, then the caps and metrics per run. */
    static void print(CompareResponse r, PrintWriter out) {
        List<RunComparison> found = r.getRunsList().stream().filter(RunComparison::getFound).toList();
        out.printf(Locale.ROOT, "%s — von Neumann entropy S (nats) per cut%n", r.getTarget());
        StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "%4s %8s %8s", "cut", "dL", "dR"));
        for (RunComparison c : found) head.append(String.format(Locale.ROOT, " %16s", trim(c.getRun() + "@" + c.getStep(), 16)));
        out.println(head);
        int cuts = found.stream().mapToInt(c -> c.getProfile().getCutsCount()).max().orElse(0);
        for (int k = 0; k < cuts; k++) {
            StringBuilder row = null;
            for (RunComparison c : found) {
                if (k >= c.getProfile().getCutsCount()) continue;
                var cut = c.getProfile().getCuts(k);
                if (row == null) row = new StringBuilder(String.format(Locale.ROOT, "%4d %8d %8d", cut.getCut(), cut.getDLeft(), cut.getDRight()));
                boolean rc = cut.getCut() == c.getProfile().getRowColumnCut();
                row.append(String.format(Locale.ROOT, " %15.6f%s", cut.getEntropy(), rc ? "*" : " "));
            }
            if (row != null) out.println(row);
        }
        out.println("(* the row/column cut)");
        out.printf(Locale.ROOT, "%-20s %8s %9s %10s %12s %9s %9s %8s %10s%n", "run", "method", "ln r", "S(r/c)", "valley depth", "max S/lnχ", "mean",
                "MP KS", "test loss");
        for (RunComparison c : r.getRunsList()) {
            if (!c.getFound()) {
                out.printf(Locale.ROOT, "%-20s (no profile yet)%n", trim(c.getRun(), 20));
                continue;
            }
            out.printf(Locale.ROOT, "%-20s %8s %9s %10.4f %12.4f %9.4f %9.4f %8s %10s%n", trim(c.getRun(), 20),
                    c.getMethod().name().toLowerCase(Locale.ROOT),
                    c.getBaselines().getLnR() > 0 ? String.format(Locale.ROOT, "%.4f", c.getBaselines().getLnR()) : "-",
                    c.getRowColumnS(), c.getValleyDepth(), c.getMaxNormalised(), c.getMeanNormalised(),
                    c.getBaselines().getMpAvailable() ? String.format(Locale.ROOT, "%.3f", c.getBaselines().getMpKolmogorovSmirnov()) : "-",
                    c.getTestLoss() > 0 ? String.format(Locale.ROOT, "%.4f", c.getTestLoss()) : "-");
        }
        if (r.getRunsList().stream().anyMatch(c -> c.getFound() && c.getCardyCharge() > 0)) {
            out.printf(Locale.ROOT, "%-20s %12s %14s %14s %14s%n", "attention", "slope S/lndL", "Cardy charge", "Cardy S(A)", "measured S(A)");
            for (RunComparison c : r.getRunsList()) {
                if (!c.getFound()) continue;
                out.printf(Locale.ROOT, "%-20s %12.4f %14.4f %14.4f %14.4f%n", trim(c.getRun(), 20), c.getAreaLawSlope(), c.getCardyCharge(),
                        c.getCardyPredictedS(), c.getCardyMeasuredS());
            }
        }
    }

    private static String trim(String s, int n) {
        return s.length() <= n ? s : s.substring(0, n - 1) + "…";
    }
}
