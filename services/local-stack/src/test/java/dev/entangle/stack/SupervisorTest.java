package dev.entangle.stack;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintStream;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Processes of a stack folder: pid files, the marker, stop and kill, and what down may touch. */
class SupervisorTest {

    @TempDir
    Path home;

    final Supervisor processes() { return new Supervisor(home, new PrintStream(OutputStream.nullOutputStream())); }

    static List<String> sleeper(Supervisor s, String... args) throws URISyntaxException {
        String classes = Path.of(Sleeper.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        List<String> launch = new java.util.ArrayList<>(List.of("-cp", classes, Sleeper.class.getName()));
        launch.addAll(List.of(args));
        return s.javaCommand(List.of("-Xmx32m"), launch);
    }

    @Test
    void aStartedProcessIsFoundByItsPidFileStoppedAndKilled() throws Exception {
        Supervisor s = processes();
        s.start("one", sleeper(s), Map.of());
        assertTrue(s.running("one"));
        assertTrue(Files.exists(home.resolve("run/one.pid")));
        assertTrue(Files.exists(s.log("one")));
        assertEquals(List.of("one"), s.recorded());
        long pid = s.process("one").orElseThrow().pid();
        assertEquals(Long.toString(pid), Files.readString(home.resolve("run/one.pid")));

        assertTrue(s.stop("one", Duration.ofSeconds(10)));
        assertFalse(s.running("one"));
        assertFalse(Files.exists(home.resolve("run/one.pid")), "a stopped process leaves no pid file");
        assertFalse(s.stop("one", Duration.ofSeconds(1)), "stopping what is not running reports so");

        s.start("two", sleeper(s), Map.of());
        long two = s.process("two").orElseThrow().pid();
        s.kill("two");
        assertFalse(ProcessHandle.of(two).map(ProcessHandle::isAlive).orElse(false), "killed at once");
        assertFalse(s.running("two"));
    }

    @Test
    void aPidWithoutTheStacksMarkerIsNeverTaken() throws Exception {
        Supervisor s = processes();
        Files.createDirectories(home.resolve("run"));
        // this test's own JVM: alive, but not started by the stack (a stale pid file whose pid was reused)
        Files.writeString(home.resolve("run/stranger.pid"), Long.toString(ProcessHandle.current().pid()));
        assertFalse(s.running("stranger"));
        assertFalse(s.stop("stranger", Duration.ofSeconds(1)));
        assertTrue(ProcessHandle.current().isAlive());
        // another stack folder's process is not this one's either
        Supervisor other = new Supervisor(home.resolve("other"), new PrintStream(OutputStream.nullOutputStream()));
        other.start("p", sleeper(other), Map.of());
        try {
            Files.writeString(home.resolve("run/p.pid"), Long.toString(other.process("p").orElseThrow().pid()));
            assertFalse(s.running("p"));
        } finally {
            other.stop("p", Duration.ofSeconds(10));
        }
    }

    @Test
    void awaitFailsAtOnceWhenTheProcessExitsAndAtTheDeadlineOtherwise() throws Exception {
        Supervisor s = processes();
        s.start("quits", sleeper(s, "exit"), Map.of());
        IllegalStateException exited = assertThrows(IllegalStateException.class,
                () -> s.await("quits", () -> false, System.nanoTime() + Duration.ofSeconds(60).toNanos(), "not ready in time"));
        assertEquals("quits exited while starting: see " + s.log("quits"), exited.getMessage());

        s.start("slow", sleeper(s), Map.of());
        try {
            IllegalStateException late = assertThrows(IllegalStateException.class,
                    () -> s.await("slow", () -> false, System.nanoTime() + Duration.ofMillis(300).toNanos(), "not ready in time"));
            assertEquals("slow not ready in time: see " + s.log("slow"), late.getMessage());
            s.await("slow", () -> true, System.nanoTime(), "not ready in time");   // ready: returns at once
        } finally {
            s.stop("slow", Duration.ofSeconds(10));
        }
    }
}
