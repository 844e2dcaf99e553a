package dev.entangle.it;

import dev.entangle.proto.query.v1.RunState;
import dev.entangle.cli.Uploader;
import dev.entangle.core.checkpoint.Checkpoint;
import dev.entangle.core.delta.DeltaAssembler;
import dev.entangle.core.delta.DeltaMatrix;
import dev.entangle.core.profile.EntanglementProfile;
import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.profile.ProfileOptions;
import dev.entangle.core.safetensors.DType;
import dev.entangle.bench.SyntheticLlama;
import dev.entangle.proto.Topics;
import dev.entangle.proto.events.v1.ProfileComputed;
import dev.entangle.proto.ingest.v1.IngestResult;
import dev.entangle.proto.ingest.v1.UploadHeader;
import dev.entangle.proto.query.v1.ListRunsRequest;
import dev.entangle.proto.query.v1.QueryGrpc;
import dev.entangle.proto.query.v1.RunSummary;
import dev.entangle.it.kit.Replica;
import dev.entangle.it.kit.StackKit;
import dev.entangle.stack.Component;
import io.grpc.ManagedChannel;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Two profiler replicas share one checkpoint's units through the task topic's partitions;
 * killing one mid-checkpoint (SIGKILL) loses nothing and leaves exactly one result per key.
 */
@ExtendWith(SharedStack.class)
class ProfilerReplicasTest {

    static final SyntheticLlama.Shape SHAPE = new SyntheticLlama.Shape("synthetic-1k", 8, 1024, 8, 2);

    @TempDir
    Path tmp;

    @Test
    void replicasSplitACheckpointAndAKilledOneLosesNothing() throws Exception {
        StackKit stack = SharedStack.stack();
        Path base = tmp.resolve("base");
        Path fft = tmp.resolve("fft");
        SyntheticLlama.writeFullModel(base, SHAPE, DType.F32, 7, 0, 0);
        SyntheticLlama.writeFullModel(fft, SHAPE, DType.F32, 7, 0.05, 0);

        Replica second = stack.startReplica(Component.PROFILER, "profiler-2", Map.of());
        second.awaitReady(System.nanoTime() + TimeUnit.SECONDS.toNanos(120));
        awaitGroupMembers("entangle-profiler", 2, Duration.ofSeconds(60));

        ManagedChannel ingest = SharedStack.channel(Component.INGEST);
        ManagedChannel query = SharedStack.channel(Component.QUERY);
        try {
            Uploader.upload(ingest, base, UploadHeader.newBuilder().setBaseModelName("synthetic-1k").build(), p -> { });
            IngestResult r = Uploader.upload(ingest, fft, UploadHeader.newBuilder().setRun("replicas-run").setStep(1)
                    .setBaseId("synthetic-1k").build(), p -> { });
            String id = r.getCheckpointId();
            int units = 2 * SHAPE.layers();

            // both replicas work on it; then one dies mid-checkpoint
            List<ProfileComputed> early = KafkaTopics.read(Topics.PROFILES_COMPUTED, ProfileComputed::parseFrom,
                    x -> x.getCheckpointId().equals(id), 3, Duration.ofSeconds(120));
            assertTrue(early.size() >= 3, "profiling started: " + early.size());
            stack.kill(Component.PROFILER);

            List<ProfileComputed> all = KafkaTopics.readUntil(Topics.PROFILES_COMPUTED, ProfileComputed::parseFrom,
                    x -> x.getCheckpointId().equals(id),
                    l -> l.stream().map(ProfileComputed::getTarget).distinct().count() >= units, Duration.ofSeconds(150));
            Map<String, ProfileComputed> byKey = new HashMap<>();
            Set<String> workers = new HashSet<>();
            for (ProfileComputed x : all) {
                byKey.put(x.getTarget(), x);   // one settings key in the stack
                workers.add(x.getWorker());
            }
            System.out.printf("replicas: %d results (%d keys) from workers %s%n", all.size(), byKey.size(), workers);
            assertEquals(units, byKey.size(), "every unit once per result key, none lost: " + byKey.keySet());
            assertEquals(2, workers.size(), "both replicas computed units of the one checkpoint: " + workers);

            // the numbers are those analysis-core computes from the same files
            ProfileCalculator calc = ProfileCalculator.fromEnvironment();
            try (Checkpoint c = Checkpoint.open(fft); Checkpoint b = Checkpoint.open(base)) {
                for (DeltaMatrix d : DeltaAssembler.deltas(c, b, List.of("q_proj", "v_proj"))) {
                    EntanglementProfile expected = calc.profile(d, ProfileOptions.DEFAULT);
                    ProfileComputed result = byKey.get(d.key());
                    assertTrue(result != null, d.key() + " among " + byKey.keySet());
                    var got = result.getProfiles(0);
                    for (int i = 0; i < got.getCutsCount(); i++) {
                        assertEquals(expected.cuts().get(i).entropy(), got.getCuts(i).getEntropy(), 1e-9, d.key() + " cut " + (i + 1));
                    }
                }
            }

            // the query view holds the run complete, one entry per unit
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            RunSummary run = null;
            while (System.nanoTime() < deadline) {
                run = QueryGrpc.newBlockingStub(query).listRuns(ListRunsRequest.getDefaultInstance()).getRunsList().stream()
                        .filter(x -> x.getRun().equals("replicas-run")).findFirst().orElse(null);
                if (run != null && run.getUnitsDone() == units) break;
                Thread.sleep(200);
            }
            assertEquals(units, run.getUnitsDone());
            assertEquals(units, run.getUnitsTotal());
            assertEquals(RunState.COMPLETE, run.getState());
        } finally {
            ingest.shutdownNow();
            query.shutdownNow();
            // leave the stack as the other tests expect it: one profiler, the original one
            second.stop(Duration.ofSeconds(20));
            if (!stack.running(Component.PROFILER)) {
                stack.start(Component.PROFILER);
                stack.awaitReady(Component.PROFILER, System.nanoTime() + TimeUnit.SECONDS.toNanos(120));
            }
        }
    }

    static void awaitGroupMembers(String group, int members, Duration timeout) throws Exception {
        Properties p = new Properties();
        p.setProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, SharedStack.stack().kafkaBootstrap());
        try (Admin admin = Admin.create(p)) {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                var d = admin.describeConsumerGroups(List.of(group)).all().get().get(group);
                if (d.members().size() >= members && d.members().stream().allMatch(m -> !m.assignment().topicPartitions().isEmpty())) return;
                if (System.nanoTime() > deadline) throw new AssertionError(group + " has " + d.members().size() + " members, wanted " + members);
                Thread.sleep(250);
            }
        }
    }
}
