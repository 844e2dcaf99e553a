package dev.entangle.it;

import dev.entangle.proto.query.v1.RunState;
import dev.entangle.cli.Uploader;
import dev.entangle.core.safetensors.DType;
import dev.entangle.bench.SyntheticLlama;
import dev.entangle.proto.Topics;
import dev.entangle.proto.events.v1.CheckpointIngested;
import dev.entangle.proto.events.v1.ProfileComputed;
import dev.entangle.proto.ingest.v1.IngestResult;
import dev.entangle.proto.ingest.v1.UploadHeader;
import dev.entangle.proto.query.v1.ListRunsRequest;
import dev.entangle.proto.query.v1.QueryGrpc;
import dev.entangle.proto.query.v1.RunSummary;
import dev.entangle.stack.Component;
import io.grpc.ManagedChannel;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Load on the real stack: 200 uploads of small LoRA checkpoints at once, then a burst of 1,000
 * {@code CheckpointIngested} events (those 200 checkpoints' events, five times each, as a
 * redelivering producer would send them). Every upload is ingested, every event profiled (each
 * redelivered event recomputes and replaces its units: results per key grow by one per event),
 * the profiler's consumer lag drains to zero, and the services stay within their configured
 * heaps. Prints the throughput.
 */
@ExtendWith(SharedStack.class)
class LoadTest {

    static final SyntheticLlama.Shape SHAPE = new SyntheticLlama.Shape("synthetic-load", 1, 64, 4, 2);
    static final int UPLOADS = 200;
    static final int BURST = 1000;
    static final String RUN = "load-run";

    @TempDir
    Path tmp;

    @Test
    void concurrentUploadsAndAnEventBurstAreAllProcessedWithinTheHeaps() throws Exception {
        Path lora = tmp.resolve("lora");
        SyntheticLlama.writeLora(lora, SHAPE, 4, 8, DType.BF16, 5);
        int units = 2 * SHAPE.layers();   // q_proj and v_proj per layer

        ManagedChannel ingest = SharedStack.channel(Component.INGEST);
        ManagedChannel query = SharedStack.channel(Component.QUERY);
        ExecutorService pool = Executors.newFixedThreadPool(UPLOADS);
        Map<Component, Long> pids = new HashMap<>();
        for (Component s : List.of(Component.INGEST, Component.PROFILER, Component.QUERY)) pids.put(s, SharedStack.stack().process(s).orElseThrow().pid());
        try (ServiceMetrics.HeapWatch heap = new ServiceMetrics.HeapWatch(Component.INGEST, Component.PROFILER, Component.QUERY)) {
            // 1. 200 uploads released together (same files, distinct steps: distinct checkpoints)
            CountDownLatch go = new CountDownLatch(1);
            List<Future<IngestResult>> uploads = new ArrayList<>();
            for (int step = 1; step <= UPLOADS; step++) {
                UploadHeader h = UploadHeader.newBuilder().setRun(RUN).setStep(step).build();
                uploads.add(pool.submit(() -> {
                    go.await();
                    return Uploader.upload(ingest, lora, h, p -> { });
                }));
            }
            long t0 = System.nanoTime();
            go.countDown();
            Set<String> ids = new HashSet<>();
            for (Future<IngestResult> f : uploads) {
                IngestResult r = f.get(300, TimeUnit.SECONDS);
                assertEquals(IngestResult.State.NEW, r.getState(), r.toString());
                ids.add(r.getCheckpointId());
            }
            double uploadSeconds = seconds(t0);
            assertEquals(UPLOADS, ids.size(), "every upload a distinct checkpoint");

            List<ProfileComputed> first = KafkaTopics.readUntil(Topics.PROFILES_COMPUTED, ProfileComputed::parseFrom,
                    x -> ids.contains(x.getCheckpointId()), l -> keys(l).size() >= UPLOADS * units, Duration.ofSeconds(600));
            double profiledSeconds = seconds(t0);
            assertEquals(UPLOADS * units, keys(first).size(), "every unit of every uploaded checkpoint profiled");

            // 2. the burst: 1,000 events at once
            List<CheckpointIngested> events = KafkaTopics.read(Topics.CHECKPOINTS_INGESTED, CheckpointIngested::parseFrom,
                    x -> ids.contains(x.getCheckpointId()), UPLOADS, Duration.ofSeconds(60));
            assertEquals(UPLOADS, events.size(), "one event per upload");
            long t1 = System.nanoTime();
            try (KafkaProducer<String, byte[]> producer = producer()) {
                for (int i = 0; i < BURST; i++) {
                    CheckpointIngested ev = events.get(i % UPLOADS);
                    producer.send(new ProducerRecord<>(Topics.CHECKPOINTS_INGESTED, ev.getRun(), ev.toByteArray()));
                }
                producer.flush();
            }
            // each key's result once from its upload, then once per redelivered event (5 each)
            int perKeyWanted = 1 + BURST / UPLOADS;
            List<ProfileComputed> all = KafkaTopics.readUntil(Topics.PROFILES_COMPUTED, ProfileComputed::parseFrom,
                    x -> ids.contains(x.getCheckpointId()), l -> everyKeyAtLeast(l, UPLOADS * units, perKeyWanted), Duration.ofSeconds(900));
            double burstSeconds = seconds(t1);
            Map<String, Long> perKey = all.stream().collect(Collectors.groupingBy(LoadTest::key, Collectors.counting()));
            assertEquals(UPLOADS * units, perKey.size(), "no result outside the checkpoints' units");
            assertTrue(perKey.values().stream().allMatch(n -> n >= perKeyWanted),
                    "every burst event profiled: results per key " + perKey.values().stream().distinct().sorted().toList());

            awaitLagZero("entangle-profiler-planner", Topics.CHECKPOINTS_INGESTED, Duration.ofSeconds(120));
            awaitLagZero("entangle-profiler", Topics.PROFILE_TASKS, Duration.ofSeconds(120));

            // the query view: one entry per unit and step, the run complete
            RunSummary run = awaitRun(query, units, Duration.ofSeconds(60));
            assertEquals(UPLOADS, run.getProgressCount(), "every step in the query view");
            assertEquals(RunState.COMPLETE, run.getState());

            // within the heaps: the same processes (no OutOfMemoryError restart), sampled throughout, at their configured limits
            for (Component s : List.of(Component.INGEST, Component.PROFILER, Component.QUERY)) {
                assertEquals(pids.get(s), SharedStack.stack().process(s).map(ProcessHandle::pid).orElse(-1L), s + " is the process that started the test");
                double limit = heap.limit(s), peak = heap.peakUsed(s);
                System.out.printf("load: %s heap peak %.0f MiB of %.0f MiB%n", s, peak / (1 << 20), limit / (1 << 20));
                assertTrue(peak > 0, s + " heap was sampled");
            }
            assertEquals(768.0 * (1 << 20), heap.limit(Component.PROFILER), 1 << 20, "the profiler runs with its configured heap");
            System.out.printf("load: %d concurrent uploads ingested in %.1f s (%.0f/s); all %d units profiled %.1f s after the start%n",
                    UPLOADS, uploadSeconds, UPLOADS / uploadSeconds, UPLOADS * units, profiledSeconds);
            System.out.printf("load: burst of %d events → %d units profiled in %.1f s (%.0f events/s, %.0f units/s)%n",
                    BURST, BURST * units, burstSeconds, BURST / burstSeconds, BURST * units / burstSeconds);
        } finally {
            pool.shutdownNow();
            ingest.shutdownNow();
            query.shutdownNow();
        }
    }

    static String key(ProfileComputed p) { return p.getCheckpointId() + "/" + p.getTarget(); }

    static boolean everyKeyAtLeast(List<ProfileComputed> l, int keys, int each) {
        Map<String, Long> perKey = l.stream().collect(Collectors.groupingBy(LoadTest::key, Collectors.counting()));
        return perKey.size() >= keys && perKey.values().stream().allMatch(n -> n >= each);
    }

    static Set<String> keys(List<ProfileComputed> l) { return l.stream().map(LoadTest::key).collect(Collectors.toSet()); }

    static double seconds(long since) { return (System.nanoTime() - since) / 1e9; }

    static KafkaProducer<String, byte[]> producer() {
        Properties p = new Properties();
        p.setProperty(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, SharedStack.stack().kafkaBootstrap());
        p.setProperty(ProducerConfig.ACKS_CONFIG, "all");
        return new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
    }

    /** Waits until the query view holds every step of the run with all its units done. */
    static RunSummary awaitRun(ManagedChannel query, int units, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        RunSummary run = null;
        while (System.nanoTime() < deadline) {
            run = QueryGrpc.newBlockingStub(query).listRuns(ListRunsRequest.getDefaultInstance()).getRunsList().stream()
                    .filter(x -> x.getRun().equals(RUN)).findFirst().orElse(null);
            if (run != null && run.getProgressCount() == UPLOADS
                    && run.getProgressList().stream().allMatch(x -> x.getUnitsDone() == units && x.getUnitsTotal() == units)) return run;
            Thread.sleep(250);
        }
        throw new AssertionError("run " + RUN + " not complete in the query view: " + run);
    }

    /**
     * Waits until the group has committed up to the end of every partition of its topic that holds
     * records (a partition with records and no committed offset counts as lagging).
     */
    static void awaitLagZero(String group, String topic, Duration timeout) throws Exception {
        Properties p = new Properties();
        p.setProperty(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, SharedStack.stack().kafkaBootstrap());
        try (Admin admin = Admin.create(p)) {
            long deadline = System.nanoTime() + timeout.toNanos();
            long lag;
            do {
                var committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
                int partitions = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions().size();
                Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
                for (int i = 0; i < partitions; i++) latest.put(new TopicPartition(topic, i), OffsetSpec.latest());
                var ends = admin.listOffsets(latest).all().get();
                lag = 0;
                for (TopicPartition tp : latest.keySet()) {
                    var c = committed.get(tp);
                    long done = c == null ? 0 : c.offset();
                    lag += Math.max(0, ends.get(tp).offset() - done);
                }
                if (lag == 0) {
                    System.out.printf("load: consumer group %s lag 0 on %s%n", group, topic);
                    return;
                }
                Thread.sleep(250);
            } while (System.nanoTime() < deadline);
            throw new AssertionError("consumer group " + group + " still lags by " + lag);
        }
    }
}
