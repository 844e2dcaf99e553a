package dev.entangle.bench;

import dev.entangle.core.engine.Engines;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bench's kernel breakdown names every kernel of a dense profile and measures float32 against float64. */
class KernelBreakdownTest {

    @Test
    void kernelBreakdownCoversEveryCutWidth() {
        // the dense matrix bench --shape 16x32 times, on the OpenBLAS engine
        KernelBreakdown.Result r = new KernelBreakdown(Engines.named("openblas"), 1).measure(16, 32, RandomMatrix.gaussian(16 * 32, 0));

        // 16 × 32 = 2^9: cuts 1..8 with min(dL, dR) = 2, 4, 8, 16, 16, 8, 4, 2
        assertEquals(2, r.grams().size(), r.toString());
        KernelBreakdown.Gram left = r.grams().get(0), right = r.grams().get(1);
        assertEquals(List.of("ρ_L", 4, 16L, 32L), List.of(left.side(), left.cut(), left.n(), left.inner()), "Gram ρ_L at cut 4 (16 × 16, inner 32)");
        assertEquals(List.of("ρ_R", 5, 16L, 32L), List.of(right.side(), right.cut(), right.n(), right.inner()), "Gram ρ_R at cut 5 (16 × 16, inner 32)");
        assertEquals(List.of(16, 8, 4, 2), r.solves().stream().map(KernelBreakdown.Solve::width).toList(), "one eigen-solve per width, widest first");
        assertEquals(List.of(2, 2, 2, 2), r.solves().stream().map(KernelBreakdown.Solve::cuts).toList(), "two cuts of each width");
        assertEquals(r.solves().get(0).seconds(), r.balancedSolveSeconds());

        assertEquals(List.of("bench matrix", "columns over 6 decades"), r.float32().stream().map(KernelBreakdown.Float32::matrix).toList());
        KernelBreakdown.Float32 bench = r.float32().get(0);
        assertEquals(4, bench.cut(), "the balanced cut");
        double s32 = bench.entropy(), s64 = bench.float64Entropy();
        assertTrue(s64 > 1 && s64 < Math.log(16), "balanced-cut entropy of a Gaussian 16 × 32: " + s64);
        assertEquals(s64, s32, 1e-5);
        for (KernelBreakdown.Float32 f : r.float32()) assertTrue(f.seconds() >= 0 && Double.isFinite(f.entropy()), f.toString());
    }

    @Test
    void benchCommandPrintsEveryKernelOfTheBreakdown() {
        CommandLine cl = EntangleBench.commandLine();
        StringWriter out = new StringWriter(), err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute("bench", "--shape", "16x32", "--numpy", "none", "--repeat", "1", "--engine", "openblas", "--kernels");
        assertEquals(0, code, err.toString());
        List<String> lines = out.toString().lines().toList();
        // the measured kernels, one line each: 2 Grams, 4 solve widths, the total, 2 float32 checks
        assertEquals(2, lines.stream().filter(l -> l.startsWith("  Gram ")).count(), out.toString());
        assertEquals(4, lines.stream().filter(l -> l.startsWith("  eigen-solve ")).count(), out.toString());
        assertEquals(1, lines.stream().filter(l -> l.startsWith("  kernels total ")).count(), out.toString());
        assertEquals(2, lines.stream().filter(l -> l.startsWith("  float32 ")).count(), out.toString());
        assertEquals(1, lines.stream().filter(l -> l.startsWith("  the whole profile ") && l.contains("× the balanced cut's solve")).count(), out.toString());
        assertEquals(1, lines.stream().filter(l -> l.startsWith("  the balanced cut's solve on one thread ")).count(), out.toString());
    }

    @Test
    void attentionBenchProfilesALayerBothWaysAlike() {
        CommandLine cl = EntangleBench.commandLine();
        StringWriter out = new StringWriter(), err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute("bench", "--attention", "--tokens", "64", "--numpy", "none", "--repeat", "1", "--engine", "openblas");
        assertEquals(0, code, err.toString());
        String text = out.toString();
        assertTrue(text.contains("attention layer: 32 heads of 64²"), text);
        assertEquals(2, text.lines().filter(l -> l.contains("heads/s")).count(), text);
        String diff = text.lines().filter(l -> l.contains("max |ΔS|")).findFirst().orElseThrow();
        double d = Double.parseDouble(diff.replaceAll(".*: ([0-9.eE+-]+) nats.*", "$1"));
        assertTrue(d < 1e-9, "side by side, one after another and head 0's plain profile agree: " + diff);
    }

    @Test
    void startupBenchReadsTheMiddleCutOfEitherSidesJson() throws Exception {
        String ours = "{\"shape\":[2,4],\"profile\":[{\"cut\":1,\"S\":0.5},{\"cut\":2,\"S\":0.7}],\"tensor\":\"w\"}";
        String numpy = "{\"tensor\": \"w\", \"shape\": [2, 4], \"profile\": [{\"cut\": 1, \"S\": 0.5}, {\"cut\": 2, \"S\": 0.7}]}";
        assertEquals(0.7, StartupBench.midS(ours));
        assertEquals(0.7, StartupBench.midS(numpy));
    }
}
