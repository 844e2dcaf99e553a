package dev.entangle.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.entangle.core.safetensors.DType;
import dev.entangle.core.safetensors.SafetensorsWriter;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

/**
 * Speed as a user meets it ({@code ./entangle bench --startup}): whole processes, start-up
 * included, of {@code ./entangle profile --tensor FILE} against the numpy script doing the same
 * ({@code bench/numpy_profile.py --file FILE gram f32}: read the file, profile every cut, print
 * S and S2 as JSON). Each shape's float32 matrix is written once; the two commands then run in
 * turn, A B A B ..., after one warm-up each (the launcher's first run may build, or make the
 * start-up cache), and the ratio is taken pair by pair, so a drift of the machine's speed during
 * the run moves both sides of a ratio alike. Reported: medians of the wall times and of the
 * pairwise ratios, and the middle cut's S from each side (they agree to float32's rounding).
 */
final class StartupBench {

    /** What one command printed and how long its whole process took. */
    record Run(double seconds, String stdout) {}

    /** One shape's figures. */
    record Row(String shape, double entangle, double numpy, double ratio, double entangleMidS, double numpyMidS) {}

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final Path repo;
    private final String python;
    private final int repeat;

    StartupBench(Path repo, String python, int repeat) {
        this.repo = repo;
        this.python = python;
        this.repeat = repeat;
    }

    /** Times both commands on a generated rows × cols float32 matrix. */
    Row measure(int rows, int cols) throws IOException {
        Path dir = Files.createTempDirectory("entangle-startup-bench-");
        try {
            Path file = dir.resolve("matrix-" + rows + "x" + cols + ".safetensors");
            new SafetensorsWriter().add("w", DType.F32, new long[]{rows, cols}, RandomMatrix.float32Gaussian(rows * cols, 0)).write(file);
            List<String> ours = List.of(repo.resolve("entangle").toString(), "profile", "--tensor", file.toString(), "--compact");
            List<String> anchor = List.of(python, repo.resolve("bench/numpy_profile.py").toString(), "--file", file.toString(), "gram", "f32");
            Run oursLast = run(ours);   // warm-up: builds what is missing, makes the start-up cache
            Run anchorLast = run(anchor);
            double[] a = new double[repeat], b = new double[repeat], ratio = new double[repeat];
            for (int i = 0; i < repeat; i++) {
                oursLast = run(ours);
                anchorLast = run(anchor);
                a[i] = oursLast.seconds();
                b[i] = anchorLast.seconds();
                ratio[i] = a[i] / b[i];
            }
            return new Row(rows + "x" + cols, Timing.median(a), Timing.median(b), Timing.median(ratio),
                    midS(oursLast.stdout()), midS(anchorLast.stdout()));
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        }
    }

    static void printHeader(PrintWriter out) {
        out.printf(Locale.ROOT, "%-12s %12s %12s %8s %12s %12s%n", "shape", "entangle s", "numpy s", "ratio", "mid S", "numpy mid S");
    }

    static void print(PrintWriter out, Row r) {
        out.printf(Locale.ROOT, "%-12s %12.3f %12.3f %8.3f %12.6f %12.6f%n", r.shape(), r.entangle(), r.numpy(), r.ratio(),
                r.entangleMidS(), r.numpyMidS());
    }

    /** The whole process's wall time, from its start to its exit; a failure is an error naming the command. */
    private static Run run(List<String> cmd) throws IOException {
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(cmd).start();
        p.getOutputStream().close();
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()));
        String out = readAll(p.getInputStream());
        int rc;
        try {
            rc = p.waitFor();
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while timing " + String.join(" ", cmd), e);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (rc != 0) throw new IllegalStateException(String.join(" ", cmd) + " exited " + rc + ": " + err.join().strip());
        return new Run(seconds, out);
    }

    private static String readAll(InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** S at the middle cut of a profile printed as JSON (either side's: both list "profile" with "S"). */
    static double midS(String json) throws IOException {
        JsonNode cuts = JSON.readTree(json).get("profile");
        if (cuts == null || cuts.isEmpty()) throw new IllegalStateException("no profile in the output: " + abbreviate(json));
        return cuts.get(cuts.size() / 2).get("S").doubleValue();
    }

    private static String abbreviate(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "...";
    }

    /** The repository the launcher runs from (it passes -Dentangle.repo), else the nearest folder above with the launcher. */
    static Path repository() {
        String prop = System.getProperty("entangle.repo");
        if (prop != null && !prop.isBlank()) return Path.of(prop);
        for (Path q = Path.of("").toAbsolutePath(); q != null; q = q.getParent()) {
            if (Files.isRegularFile(q.resolve("entangle")) && Files.isRegularFile(q.resolve("bench/numpy_profile.py"))) return q;
        }
        throw new IllegalStateException("cannot find the repository (its entangle launcher and bench/numpy_profile.py); run ./entangle bench --startup from it");
    }
}
