package dev.entangle.stack;

import dev.entangle.proto.Topics;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The stack's components, their ports as recorded in a stack folder, and the environment the services get. */
class ComponentTest {

    @TempDir
    Path home;

    @Test
    void servicesStartAfterTheInfrastructureInDependencyOrder() {
        assertEquals(List.of(Component.KAFKA, Component.S3), Component.INFRASTRUCTURE);
        assertEquals(List.of("theory", "checkpoint-ingest", "profiler", "query"), Component.SERVICES.stream().map(Component::processName).toList());
        assertEquals(Component.values().length, new HashSet<>(Ports.defaults().ports().values()).size(), "one port each");
        assertEquals(8081, Component.INGEST.defaultPort());
        assertEquals("768m", Component.PROFILER.heap());
        assertThrows(IllegalStateException.class, Component.KAFKA::portVariable);
    }

    /** A ports.properties written before components were a type (keys kafka, s3, ingest, ...) still reads. */
    @Test
    void recordedPortsRoundTripUnderTheirKeys() throws Exception {
        Properties old = new Properties();
        old.putAll(Map.of("kafka", "19092", "controller", "19093", "s3", "19000", "ingest", "8081", "profiler", "8082", "theory", "8083", "query", "8084"));
        assertEquals(Ports.defaults(), Ports.of(old));
        Ports free = Ports.free();
        assertEquals(free, Ports.of(free.toProperties()));

        LocalStack stack = new LocalStack(home, home, free, new PrintStream(OutputStream.nullOutputStream()));
        Files.createDirectories(home);
        try (var out = Files.newOutputStream(home.resolve("ports.properties"))) {
            free.toProperties().store(out, null);
        }
        LocalStack again = LocalStack.recorded(home, home, new PrintStream(OutputStream.nullOutputStream())).orElseThrow();
        assertEquals(stack.ports(), again.ports());
        assertEquals("127.0.0.1:" + free.of(Component.KAFKA), again.kafkaBootstrap());
    }

    @Test
    void eachServiceIsToldEveryServicesPortAndNothingRunsBeforeUp() throws Exception {
        Ports free = Ports.free();
        LocalStack stack = new LocalStack(home, home, free, new PrintStream(OutputStream.nullOutputStream()));
        Map<String, String> env = stack.serviceEnv();
        for (Component s : Component.SERVICES) assertEquals("" + free.of(s), env.get(s.portVariable()), s.portVariable());
        assertEquals("" + free.of(Component.THEORY), env.get("ENTANGLE_THEORY_PORT"));
        assertTrue(env.get("ENTANGLE_S3_ACCESS_KEY").startsWith("entangle"), "generated credentials");
        assertEquals(env.get("ENTANGLE_S3_SECRET_KEY"), stack.credentialsEnv().get("ENTANGLE_S3_SECRET_KEY"), "generated once per folder");
        stack.status().values().forEach(v -> assertEquals("stopped", v));
        assertEquals(List.of(), stack.down());
    }

    @Test
    void theStackCreatesEveryTopic() {
        assertTrue(Topics.ALL.containsAll(List.of(Topics.CHECKPOINTS_INGESTED, Topics.PROFILE_TASKS, Topics.PROFILES_COMPUTED, Topics.PROFILE_TASKS_DLQ)));
        assertTrue(!Topics.ALL.contains(Topics.PROFILE_TASKS_OUT), "a channel name, not a topic");
    }
}
