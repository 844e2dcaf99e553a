package dev.entangle.it;

import dev.entangle.cli.Uploader;
import dev.entangle.core.safetensors.DType;
import dev.entangle.bench.SyntheticLlama;
import dev.entangle.proto.Topics;
import dev.entangle.proto.events.v1.ProfileComputed;
import dev.entangle.proto.ingest.v1.IngestResult;
import dev.entangle.proto.ingest.v1.UploadHeader;
import dev.entangle.it.kit.StackKit;
import dev.entangle.stack.Component;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Faults on the real stack: the S3 server gone for 70 s while a checkpoint is profiled (longer than
 * the 30 s asked, and longer than the Kafka connector's default 60 s patience with an
 * unacknowledged record, which once failed the task channel), the Kafka broker restarted while
 * one is profiled, and the broker down while one is uploaded. Afterwards every unit is there exactly once per
 * key and every service is ready again without a manual step.
 */
@ExtendWith(SharedStack.class)
class FaultsTest {

    static final SyntheticLlama.Shape SHAPE = new SyntheticLlama.Shape("faults-512", 4, 512, 8, 2);

    @TempDir
    Path tmp;

    @Test
    void s3OutageAndBrokerRestartLoseNothing() throws Exception {
        StackKit stack = SharedStack.stack();
        Assumptions.assumeTrue(stack.ownsInfrastructure(), "the broker and S3 are containers here");
        SyntheticLlama.writeFullModel(tmp.resolve("base"), SHAPE, DType.F32, 5, 0, 0);
        SyntheticLlama.writeFullModel(tmp.resolve("s3-outage"), SHAPE, DType.F32, 5, 0.1, 0);
        SyntheticLlama.writeFullModel(tmp.resolve("broker-restart"), SHAPE, DType.F32, 5, 0.2, 0);
        SyntheticLlama.writeFullModel(tmp.resolve("ingest-restart"), SHAPE, DType.F32, 5, 0.3, 0);
        ManagedChannel ingest = SharedStack.channel(Component.INGEST);
        try {
            Uploader.upload(ingest, tmp.resolve("base"), UploadHeader.newBuilder().setBaseModelName("faults-512").build(), p -> { });

            // 1. S3 away for 70 s right after a checkpoint is announced: units retry with backoff
            IngestResult a = upload(ingest, "s3-outage");
            stack.stop(Component.S3, Duration.ofSeconds(10));
            long down = System.nanoTime();
            StatusRuntimeException refused = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
                    () -> upload(ingest, "broker-restart"));
            System.out.println("upload while S3 is down: " + refused.getStatus());
            awaitNotReady(Component.INGEST, Duration.ofSeconds(30));
            Thread.sleep(Math.max(0, 70_000 - (System.nanoTime() - down) / 1_000_000));
            stack.startInfrastructure(Component.S3, Duration.ofSeconds(60));
            assertUnitsExactlyOnce(a.getCheckpointId(), 2 * SHAPE.layers(), Duration.ofSeconds(240));
            awaitReady(stack);

            // 2. the broker restarted while a checkpoint is profiled
            IngestResult b = upload(ingest, "broker-restart");
            stack.stop(Component.KAFKA, Duration.ofSeconds(30));
            Thread.sleep(5_000);
            stack.startInfrastructure(Component.KAFKA, Duration.ofSeconds(60));
            assertUnitsExactlyOnce(b.getCheckpointId(), 2 * SHAPE.layers(), Duration.ofSeconds(240));
            awaitReady(stack);

            // 3. the broker down while a checkpoint is uploaded, back 5 s later: the checkpoint is
            //    announced once the broker answers (or, if the publish gave up first, by the re-upload),
            //    and profiled once per key
            stack.stop(Component.KAFKA, Duration.ofSeconds(30));
            java.util.concurrent.CompletableFuture<IngestResult> during = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return upload(ingest, "ingest-restart");
                } catch (Exception e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });
            Thread.sleep(5_000);
            stack.startInfrastructure(Component.KAFKA, Duration.ofSeconds(60));
            IngestResult c;
            try {
                c = during.get(180, TimeUnit.SECONDS);
                assertEquals(IngestResult.State.NEW, c.getState(), "stored and announced after the broker came back");
            } catch (java.util.concurrent.ExecutionException e) {
                Throwable cause = e.getCause();
                while (cause != null && !(cause instanceof StatusRuntimeException)) cause = cause.getCause();
                if (!(cause instanceof StatusRuntimeException gaveUp)) throw e;
                assertEquals(io.grpc.Status.Code.UNAVAILABLE, gaveUp.getStatus().getCode(), gaveUp.getStatus().toString());
                c = upload(ingest, "ingest-restart");
                assertEquals(IngestResult.State.REPUBLISHED, c.getState(), "the stored checkpoint announced by the retry");
            }
            System.out.println("upload across a broker restart: " + c.getState());
            String id = c.getCheckpointId();
            KafkaTopics.read(Topics.CHECKPOINTS_INGESTED, dev.entangle.proto.events.v1.CheckpointIngested::parseFrom,
                    x -> x.getCheckpointId().equals(id), 1, Duration.ofSeconds(60));
            int announced = KafkaTopics.readUntil(Topics.CHECKPOINTS_INGESTED, dev.entangle.proto.events.v1.CheckpointIngested::parseFrom,
                    x -> x.getCheckpointId().equals(id), l -> false, Duration.ofSeconds(5)).size();
            // one event; two only where the first publish reached the broker but its acknowledgement did not come back
            assertTrue(announced == 1 || (announced == 2 && c.getState() == IngestResult.State.REPUBLISHED), "announced " + announced + " times");
            assertUnitsExactlyOnce(id, 2 * SHAPE.layers(), Duration.ofSeconds(240));
            awaitReady(stack);
        } finally {
            ingest.shutdownNow();
            if (!stack.running(Component.S3)) stack.startInfrastructure(Component.S3, Duration.ofSeconds(60));
            if (!stack.running(Component.KAFKA)) stack.startInfrastructure(Component.KAFKA, Duration.ofSeconds(60));
        }
    }

    IngestResult upload(ManagedChannel ingest, String name) throws Exception {
        return Uploader.upload(ingest, tmp.resolve(name), UploadHeader.newBuilder().setRun("faults-" + name).setStep(1)
                .setBaseId("faults-512").build(), p -> { });
    }

    static void assertUnitsExactlyOnce(String checkpointId, int units, Duration timeout) throws Exception {
        List<ProfileComputed> all = KafkaTopics.readUntil(Topics.PROFILES_COMPUTED, ProfileComputed::parseFrom,
                r -> r.getCheckpointId().equals(checkpointId),
                l -> l.stream().map(ProfileComputed::getTarget).distinct().count() >= units, timeout);
        Map<String, Integer> perKey = new HashMap<>();
        all.forEach(r -> perKey.merge(r.getTarget() + "/" + r.getSettingsKey(), 1, Integer::sum));
        System.out.printf("%s: %d results for %d keys%n", checkpointId.substring(0, 12), all.size(), perKey.size());
        assertEquals(units, perKey.size(), "every unit has its result: " + perKey.keySet());
    }

    static void awaitNotReady(Component service, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (SharedStack.stack().ready(service)) {
            if (System.nanoTime() > deadline) throw new AssertionError(service + " still reports ready with S3 gone");
            Thread.sleep(250);
        }
    }

    static void awaitReady(StackKit stack) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        for (Component s : Component.SERVICES) {
            while (!stack.ready(s)) {
                assertFalse(System.nanoTime() > deadline, s + " did not report ready again");
                Thread.sleep(250);
            }
        }
        assertTrue(true);
    }
}
