package dev.entangle.stack;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/**
 * The stack's processes under one folder: each started with its output in {@code logs/NAME.log}
 * and its pid in {@code run/NAME.pid}, and tagged with the folder's marker on its command line,
 * so that a pid is only ever taken for this stack's process (a stale pid file, or a pid reused
 * by another program, never is) and {@code down} stops nothing else.
 */
public final class Supervisor {

    private final Path home;
    private final PrintStream log;

    public Supervisor(Path home, PrintStream log) {
        this.home = home.toAbsolutePath().normalize();
        this.log = log;
    }

    public Path home() { return home; }

    /** Where a process's output goes. */
    public Path log(String name) { return home.resolve("logs/" + name + ".log"); }

    /** Tags every process of this stack so that {@code down} never stops anything else. */
    String marker() {
        return "-DentangleStackHome=" + home;
    }

    /** A java command of this stack: this runtime, the JVM options, the marker, then what to launch ({@code -jar JAR} or {@code -cp CP MAIN ARGS}). */
    List<String> javaCommand(List<String> jvmOptions, List<String> launch) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions);
        cmd.add(marker());
        cmd.addAll(launch);
        return cmd;
    }

    /** Starts a process under {@code name}, in the stack folder, with its output appended to its log. */
    void start(String name, List<String> command, Map<String, String> env) throws IOException {
        Files.createDirectories(home.resolve("logs"));
        Files.createDirectories(home.resolve("run"));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log(name).toFile()));
        pb.environment().putAll(env);
        pb.directory(home.toFile());
        Process p = pb.start();
        Files.writeString(home.resolve("run/" + name + ".pid"), Long.toString(p.pid()));
        log.println("  started " + name + " (pid " + p.pid() + ", log " + log(name) + ")");
    }

    /** The live process started under {@code name} by this stack, if any. */
    public Optional<ProcessHandle> process(String name) {
        Path f = home.resolve("run/" + name + ".pid");
        if (!Files.exists(f)) return Optional.empty();
        try {
            long pid = Long.parseLong(Files.readString(f).trim());
            // the marker as a whole argument (more follow it): a stack folder nested in this one is another stack
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                    .filter(h -> h.info().commandLine().map(c -> c.contains(marker() + " ")).orElse(false));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    public boolean running(String name) { return process(name).isPresent(); }

    /** Stops one process: SIGTERM, then SIGKILL after the grace period. False when it was not running. */
    public boolean stop(String name, Duration grace) throws InterruptedException {
        Optional<ProcessHandle> h = process(name);
        if (h.isEmpty()) return false;
        h.get().destroy();
        long deadline = System.nanoTime() + grace.toNanos();
        while (h.get().isAlive() && System.nanoTime() < deadline) Thread.sleep(50);
        if (h.get().isAlive()) h.get().destroyForcibly();
        while (h.get().isAlive()) Thread.sleep(20);
        try {
            Files.deleteIfExists(home.resolve("run/" + name + ".pid"));
        } catch (IOException ignored) {
            // the pid file is advisory; a stale one is filtered by the marker check
        }
        return true;
    }

    /** Kills one process at once (SIGKILL), as a crash would. */
    public void kill(String name) throws InterruptedException {
        Optional<ProcessHandle> h = process(name);
        if (h.isEmpty()) return;
        h.get().destroyForcibly();
        while (h.get().isAlive()) Thread.sleep(20);
    }

    /** The names of every process this stack recorded a pid for (running or not). */
    public List<String> recorded() {
        List<String> names = new ArrayList<>();
        try (var files = Files.list(home.resolve("run"))) {
            files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".pid"))
                    .map(n -> n.substring(0, n.length() - 4)).forEach(names::add);
        } catch (IOException e) {
            // no run folder: nothing was started
        }
        return names;
    }

    /**
     * Waits until {@code ready} holds for the process {@code name}; fails as soon as the process
     * has exited, or at the deadline with {@code notInTime} ("did not open port 9092", "not ready
     * in time"), each pointing at its log.
     */
    public void await(String name, BooleanSupplier ready, long deadlineNanos, String notInTime) throws InterruptedException {
        while (!ready.getAsBoolean()) {
            if (!running(name)) throw new IllegalStateException(name + " exited while starting: see " + log(name));
            if (System.nanoTime() > deadlineNanos) throw new IllegalStateException(name + " " + notInTime + ": see " + log(name));
            Thread.sleep(100);
        }
    }
}
