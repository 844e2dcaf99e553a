package dev.entangle.cli;

import dev.entangle.core.safetensors.DType;
import dev.entangle.core.safetensors.SafetensorsWriter;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * The training run of the CLI's ahead-of-time cache (JDK 25, JEPs 483/514/515), which the
 * launcher makes once per build: {@code java -XX:AOTCacheOutput=... StartupTraining}. It runs
 * the commands a user starts most, in one process and with their output discarded, so that the
 * classes they load and link, and the profiles of their hot methods, are in the cache that later
 * starts map instead of loading them from some 70 jars: {@code profile --tensor} of a generated
 * 256 × 256 float32 matrix (f32 decoding, the OpenBLAS engine, the cut spectra, the profile's JSON),
 * the same as one line with Rényi orders, and the help.
 */
public final class StartupTraining {

    private StartupTraining() {}

    public static void main(String[] args) throws IOException {
        Path dir = Files.createTempDirectory("entangle-aot-training-");
        try {
            Path matrix = dir.resolve("matrix.safetensors");
            Random r = new Random(1);
            new SafetensorsWriter().add("w", DType.F32, new long[]{256, 256}, r::nextGaussian).write(matrix);
            int failures = 0;
            failures += run("profile", "--tensor", matrix.toString());
            failures += run("profile", "--tensor", matrix + ":w", "--renyi", "2,3", "--compact");
            failures += run("--help");
            failures += run("profile", "--help");
            if (failures > 0) System.exit(1);   // no cache from a run that did not do what users do
        } finally {
            try (var s = Files.list(dir)) {
                for (Path p : s.toList()) Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
        }
    }

    /** One command as the launcher would run it, output discarded; 1 if it failed. */
    private static int run(String... args) {
        PrintWriter discard = new PrintWriter(OutputStream.nullOutputStream());
        int rc = EntangleCommand.commandLine(args).setOut(discard).setErr(discard).execute(args);
        if (rc != 0) System.err.println("entangle: the start-up cache's training run failed: entangle " + String.join(" ", args) + " exited " + rc);
        return rc == 0 ? 0 : 1;
    }
}
