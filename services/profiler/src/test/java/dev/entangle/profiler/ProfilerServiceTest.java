package dev.entangle.profiler;

import com.fasterxml.jackson.databind.JsonNode;
import dev.entangle.core.testing.Fixtures;
import dev.entangle.proto.Topics;
import dev.entangle.proto.events.v1.CheckpointIngested;
import dev.entangle.proto.events.v1.Method;
import dev.entangle.proto.events.v1.Profile;
import dev.entangle.proto.events.v1.ProfileComputed;
import dev.entangle.proto.events.v1.ProfileTask;
import dev.entangle.proto.events.v1.UnitKind;
import dev.entangle.ingest.core.CheckpointIngester;
import dev.entangle.ingest.core.IngestRequest;
import dev.entangle.store.Layout;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.smallrye.reactive.messaging.memory.InMemoryConnector;
import io.smallrye.reactive.messaging.memory.InMemorySink;
import jakarta.enterprise.inject.Any;
import jakarta.inject.Inject;
import org.eclipse.microprofile.reactive.messaging.Message;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The profiler starts with its real configuration and runs a checkpoint through its own channels:
 * a CheckpointIngested becomes one task per unit (4 ΔW, 2 attention layers, 2 XXᵀ), the tasks
 * become results, and the ΔW results equal the oracle (1e-6 nats). Topics are in-memory stand-ins;
 * the object store is an in-memory one holding what ingest stored for the fixture.
 */
@QuarkusTest
@TestProfile(ProfilerServiceTest.InMemory.class)
class ProfilerServiceTest {

    public static class InMemory implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            Map<String, String> c = new HashMap<>(InMemoryConnector.switchIncomingChannelsToInMemory(Topics.CHECKPOINTS_INGESTED, Topics.PROFILE_TASKS));
            c.putAll(InMemoryConnector.switchOutgoingChannelsToInMemory(Topics.PROFILE_TASKS_OUT, Topics.PROFILES_COMPUTED));
            return c;
        }
    }

    @Inject
    @Any
    InMemoryConnector connector;

    @Test
    void aCheckpointBecomesTasksAndTasksBecomeOracleEqualResults() throws Exception {
        Path ckpt = Fixtures.root().resolve("runs/lora-r16-a16/checkpoint-150");
        CheckpointIngester ingester = new CheckpointIngester(InMemoryStoreProducer.STORE, Files.createTempDirectory("spool"), List.of("q_proj", "v_proj"));
        var m = ingester.ingest(ckpt, IngestRequest.of("lora-r16-a16", 150L, null)).manifest();
        CheckpointIngested ev = CheckpointIngested.newBuilder().setCheckpointId(m.id()).setRun(m.run()).setStep(m.step())
                .setMethod(Method.LORA).setBucket("entangle").setManifestKey(Layout.checkpointManifest(m.id()))
                .addAllTargets(m.targets()).setHasProbe(m.probe() != null).build();

        connector.source(Topics.CHECKPOINTS_INGESTED).send(ev.toByteArray());
        InMemorySink<byte[]> tasks = connector.sink(Topics.PROFILE_TASKS_OUT);
        await("8 tasks planned").atMost(Duration.ofSeconds(120)).until(() -> tasks.received().size() >= 8);
        assertEquals(8, tasks.received().size(), "4 ΔW, 2 attention layers, 2 output operators");

        for (Message<byte[]> t : tasks.received()) connector.source(Topics.PROFILE_TASKS).send(t.getPayload());
        InMemorySink<byte[]> results = connector.sink(Topics.PROFILES_COMPUTED);
        await("8 results").atMost(Duration.ofSeconds(120)).until(() -> results.received().size() >= 8);

        JsonNode oracle = Fixtures.oracle(ckpt).get("deltas");
        int deltas = 0;
        for (Message<byte[]> msg : results.received()) {
            ProfileComputed r = ProfileComputed.parseFrom(msg.getPayload());
            assertEquals(m.id(), r.getCheckpointId());
            assertEquals(8, r.getUnitCount());
            if (r.getKind() != UnitKind.DELTA) continue;
            deltas++;
            Profile p = r.getProfiles(0);
            JsonNode o = oracle.get(p.getName()).get("profile");
            for (int i = 0; i < p.getCutsCount(); i++) {
                assertEquals(o.get(i).get("S").doubleValue(), p.getCuts(i).getEntropy(), 1e-6, p.getName() + " cut " + (i + 1));
            }
        }
        assertEquals(4, deltas);
        assertTrue(ProfileTask.parseFrom(tasks.received().get(0).getPayload()).getUnitCount() == 8);
    }
}
