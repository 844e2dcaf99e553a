package dev.entangle.it;

import dev.entangle.core.profile.Extra;
import com.fasterxml.jackson.databind.JsonNode;
import dev.entangle.cli.Uploader;
import dev.entangle.core.testing.BadInputs;
import dev.entangle.core.testing.Fixtures;
import dev.entangle.proto.Topics;
import dev.entangle.proto.events.v1.CheckpointIngested;
import dev.entangle.proto.events.v1.CutProfile;
import dev.entangle.proto.events.v1.Profile;
import dev.entangle.proto.events.v1.ProfileComputed;
import dev.entangle.proto.events.v1.UnitKind;
import dev.entangle.proto.ingest.v1.IngestResult;
import dev.entangle.proto.ingest.v1.UploadHeader;
import dev.entangle.proto.query.v1.CompareRequest;
import dev.entangle.proto.query.v1.CompareResponse;
import dev.entangle.proto.query.v1.ListRunsRequest;
import dev.entangle.proto.query.v1.QueryGrpc;
import dev.entangle.proto.query.v1.RunComparison;
import dev.entangle.proto.query.v1.RunUpdate;
import dev.entangle.proto.query.v1.StepSelector;
import dev.entangle.proto.query.v1.WatchRunRequest;
import dev.entangle.it.kit.StackKit;
import dev.entangle.stack.Component;
import dev.entangle.store.Layout;
import dev.entangle.store.S3Config;
import dev.entangle.store.S3ObjectStore;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End to end on the real stack (a Kafka broker in KRaft mode, S3Proxy over a folder, the four
 * services as separate processes), started once for this class: ingest every fixture run, the
 * profilers' results equal the oracle, the query service compares LoRA, FFT and MPS, and the
 * duplicate, corrupt-file and restart cases hold.
 */
@ExtendWith(SharedStack.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StackEndToEndTest {

    static final String BASE = "tiny-llama";
    /** Units per fixture checkpoint: 4 ΔW (q/v × 2 layers), 2 attention layers, 2 output operators. */
    static final int UNITS_PER_CHECKPOINT = 8;

    static StackKit stack;
    static S3ObjectStore s3;
    static ManagedChannel ingest;
    static ManagedChannel query;
    static final Map<Path, IngestResult> ingested = new HashMap<>();

    @BeforeAll
    static void connect() {
        stack = SharedStack.stack();
        s3 = SharedStack.s3();
        ingest = SharedStack.channel(Component.INGEST);
        query = SharedStack.channel(Component.QUERY);
    }

    static ManagedChannel channel(Component service) {
        return SharedStack.channel(service);
    }

    @AfterAll
    static void disconnect() {
        if (ingest != null) ingest.shutdownNow();
        if (query != null) query.shutdownNow();
    }

    static Set<String> ids() {
        Set<String> ids = new HashSet<>();
        ingested.values().forEach(r -> ids.add(r.getCheckpointId()));
        return ids;
    }

    /** Every CheckpointIngested on the topic (any test's). */
    static int allEvents() throws IOException {
        return KafkaTopics.read(Topics.CHECKPOINTS_INGESTED, CheckpointIngested::parseFrom, e -> true, Integer.MAX_VALUE, Duration.ofSeconds(4)).size();
    }

    /** Objects ingest writes (the profilers keep writing results under profiles/ meanwhile). */
    static long ingestObjects() throws IOException {
        long n = 0;
        for (String prefix : List.of("blobs/", "checkpoints/", "bases/", "runs/")) n += s3.list(prefix).size();
        return n;
    }

    static IngestResult upload(Path dir) throws Exception {
        UploadHeader.Builder h = UploadHeader.newBuilder();
        if (dir.toString().contains("fft")) h.setBaseId(BASE);
        return Uploader.upload(ingest, dir, h.build(), p -> { });
    }

    // ---- ingest -------------------------------------------------------------------------------

    @Test
    @Order(1)
    void everyFixtureCheckpointIngestsWithOneEventEach() throws Exception {
        IngestResult base = Uploader.upload(ingest, Fixtures.base(), UploadHeader.newBuilder().setBaseModelName(BASE).build(), p -> { });
        assertTrue(s3.exists(Layout.baseManifest(BASE)), base.toString());
        for (Path c : Fixtures.checkpoints()) {
            IngestResult r = upload(c);
            assertEquals(IngestResult.State.NEW, r.getState(), Fixtures.label(c));
            ingested.put(c, r);
            assertTrue(s3.exists(r.getManifestKey()), "manifest of " + Fixtures.label(c));
            assertTrue(s3.exists(Layout.published(r.getCheckpointId())), "published marker of " + Fixtures.label(c));
        }
        Set<String> ids = ids();
        List<CheckpointIngested> events = KafkaTopics.read(Topics.CHECKPOINTS_INGESTED, CheckpointIngested::parseFrom,
                e -> ids.contains(e.getCheckpointId()), ingested.size() + 1, Duration.ofSeconds(8));
        Map<String, Integer> perCheckpoint = new HashMap<>();
        events.forEach(e -> perCheckpoint.merge(e.getCheckpointId(), 1, Integer::sum));
        assertEquals(ingested.size(), perCheckpoint.size(), "one event per checkpoint");
        perCheckpoint.forEach((id, n) -> assertEquals(1, n, "events for " + id));
        for (CheckpointIngested e : events) {
            assertTrue(e.getHasProbe());
            assertEquals(4, e.getTargetsCount());
        }
    }

    @Test
    @Order(2)
    void reIngestIsANoOp() throws Exception {
        Path c = Fixtures.root().resolve("runs/lora-r4-a16/checkpoint-30");
        long objects = ingestObjects();
        int events = allEvents();
        IngestResult again = upload(c);
        assertEquals(IngestResult.State.DUPLICATE, again.getState());
        assertEquals(ingested.get(c).getCheckpointId(), again.getCheckpointId(), "same id");
        assertEquals(objects, ingestObjects(), "no new objects");
        assertEquals(events, allEvents(), "no second event");
    }

    /** Truncated file, overlapping offsets, wrong dtype size (the bad-input corpus's builders): refused over gRPC with the rule, nothing left. */
    @Test
    @Order(3)
    void corruptFilesAreRejectedWithTheRuleAndLeaveNothing() throws Exception {
        long objects = ingestObjects();
        int events = allEvents();
        Map<String, BadInputs.Case> cases = new HashMap<>();
        for (BadInputs.Case c : BadInputs.all()) cases.put(c.name(), c);
        for (String name : List.of("truncated file", "overlapping offsets", "shape x dtype != offset span")) {
            BadInputs.Case c = cases.get(name);
            assertNotNull(c, name);
            Path tmp = Files.createTempDirectory("corrupt");
            try {
                Path dir = c.builder().build(tmp).checkpoint();
                UploadHeader h = UploadHeader.newBuilder().setRun("corrupt-run").setStep(1).build();
                StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> Uploader.uploadUnchecked(ingest, dir, h, p -> { }), name);
                assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), name);
                String msg = e.getStatus().getDescription();
                assertTrue(msg.contains("adapter_model.safetensors") && msg.contains(c.rule()), name + ": " + msg);
            } finally {
                try (Stream<Path> s = Files.walk(tmp)) {
                    for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
                }
            }
        }
        assertEquals(objects, ingestObjects(), "the bucket is untouched");
        assertTrue(s3.list(Layout.runSteps("corrupt-run")).isEmpty());
        assertEquals(events, allEvents(), "the topic is untouched");
    }

    // ---- profiles -----------------------------------------------------------------------------

    /** Every unit of every checkpoint arrives once per key and equals the oracle. */
    @Test
    @Order(4)
    void everyProfileArrivesAndEqualsTheOracle() throws Exception {
        int expected = ingested.size() * UNITS_PER_CHECKPOINT;
        long t0 = System.nanoTime();
        Set<String> ids = ids();
        List<ProfileComputed> results = KafkaTopics.read(Topics.PROFILES_COMPUTED, ProfileComputed::parseFrom,
                r -> ids.contains(r.getCheckpointId()), expected, Duration.ofSeconds(300));
        System.out.printf("%d units profiled in %.1f s after ingest%n", results.size(), (System.nanoTime() - t0) / 1e9);
        Map<String, ProfileComputed> byKey = new HashMap<>();
        for (ProfileComputed r : results) byKey.put(r.getCheckpointId() + "/" + r.getTarget() + "/" + r.getSettingsKey(), r);
        assertEquals(expected, byKey.size(), "every unit, once per result key");
        Map<String, Path> dirById = new HashMap<>();
        ingested.forEach((dir, r) -> dirById.put(r.getCheckpointId(), dir));
        int compared = 0;
        for (ProfileComputed r : byKey.values()) {
            Path dir = dirById.get(r.getCheckpointId());
            assertNotNull(dir, "result for an unknown checkpoint " + r.getCheckpointId());
            JsonNode oracle = Fixtures.oracle(dir);
            String section = switch (r.getKind()) {
                case DELTA -> "deltas";
                case ATTENTION -> "attention";
                case OUTPUT -> "outputs";
                default -> throw new AssertionError(r.getKind());
            };
            for (Profile p : r.getProfilesList()) {
                JsonNode o = oracle.get(section).get(p.getName());
                assertNotNull(o, Fixtures.label(dir) + " " + p.getName());
                boolean rebuilt = r.getKind() == UnitKind.ATTENTION && p.getExtrasOrDefault(Extra.CAPTURED.key(), 0) == 0;
                double tol = rebuilt ? 1e-4 : 1e-6;
                for (int i = 0; i < p.getCutsCount(); i++) {
                    CutProfile c = p.getCuts(i);
                    JsonNode oc = o.get("profile").get(i);
                    assertEquals(oc.get("S").doubleValue(), c.getEntropy(), tol, Fixtures.label(dir) + " " + p.getName() + " cut " + c.getCut());
                    assertEquals(oc.get("S2").doubleValue(), c.getRenyiOrThrow("S2"), tol);
                }
                compared++;
            }
        }
        // 15 checkpoints × (4 ΔW + 16 heads + 2 XXᵀ)
        assertEquals(ingested.size() * (4 + 16 + 2), compared);
    }

    // ---- query --------------------------------------------------------------------------------

    static CompareResponse compareLayer0() {
        return QueryGrpc.newBlockingStub(query).withDeadlineAfter(30, TimeUnit.SECONDS).compare(CompareRequest.newBuilder()
                .addRuns("lora-r16-a16").addRuns("fft-lr1e-4").addRuns("mps-r8-chi8-a16")
                .setLayer(0).setModule("q_proj").setStep(StepSelector.newBuilder().setLatest(true)).build());
    }

    @Test
    @Order(5)
    void compareLoraFftMpsOnLayer0QProj() {
        CompareResponse cmp = compareLayer0();
        assertEquals("layers.0.q_proj", cmp.getTarget());
        assertEquals(3, cmp.getRunsCount());
        for (RunComparison rc : cmp.getRunsList()) {
            assertTrue(rc.getFound(), rc.getRun());
            assertEquals(150, rc.getStep(), rc.getRun() + " latest step");
            JsonNode o = Fixtures.oracle(Fixtures.root().resolve("runs/" + rc.getRun() + "/checkpoint-150")).get("deltas").get("layers.0.q_proj");
            for (int i = 0; i < rc.getProfile().getCutsCount(); i++) {
                assertEquals(o.get("profile").get(i).get("S").doubleValue(), rc.getProfile().getCuts(i).getEntropy(), 1e-6, rc.getRun() + " cut " + (i + 1));
            }
            assertEquals(rc.getProfile().getCutsCount(), rc.getBaselines().getPageCount(), "Page baseline per cut");
        }
        RunComparison lora = cmp.getRuns(0);
        RunComparison fft = cmp.getRuns(1);
        RunComparison mps = cmp.getRuns(2);
        assertTrue(lora.getRowColumnS() <= Math.log(16) + 1e-9, "LoRA r16 row/column cut ≤ ln 16: " + lora.getRowColumnS());
        assertEquals(Math.log(16), lora.getBaselines().getLnR(), 1e-12);
        assertTrue(lora.getValleyDepth() > 0.3, "LoRA has an entanglement valley: " + lora.getValleyDepth());
        assertTrue(fft.getRowColumnS() > Math.log(16), "FFT has no ln r bottleneck: " + fft.getRowColumnS());
        assertTrue(fft.getValleyDepth() < lora.getValleyDepth() / 2, "FFT's dip at the row/column cut is shallow: " + fft.getValleyDepth());
        assertTrue(mps.getRowColumnS() <= Math.log(8) + 1e-9, "MPS r8 row/column cut ≤ ln 8: " + mps.getRowColumnS());
        // Marchenko–Pastur distance of the row/column cut from the theory service: a rank-16 cut
        // of a 256 × 256 bipartition (240 zero values) is far from MP
        for (RunComparison rc : cmp.getRunsList()) assertTrue(rc.getBaselines().getMpAvailable(), rc.getRun() + " MP distance");
        assertTrue(lora.getBaselines().getMpKolmogorovSmirnov() > 0.9, "LoRA KS " + lora.getBaselines());
        assertTrue(fft.getBaselines().getMpKolmogorovSmirnov() < lora.getBaselines().getMpKolmogorovSmirnov(), "FFT closer to MP than LoRA");

        // attention: area law with a log correction, and the Cardy prediction next to the measurement
        CompareResponse att = QueryGrpc.newBlockingStub(query).compare(CompareRequest.newBuilder()
                .addRuns("lora-r16-a16").addRuns("fft-lr1e-4").setTarget("layers.0.head.0")
                .setStep(StepSelector.newBuilder().setLatest(true)).build());
        for (RunComparison rc : att.getRunsList()) {
            assertTrue(rc.getFound(), rc.getRun());
            assertTrue(rc.getAreaLawSlope() > 0 && rc.getAreaLawSlope() < 0.9, rc.getRun() + " slope " + rc.getAreaLawSlope());
            assertTrue(rc.getCardyCharge() > 0 && rc.getCardyCharge() < 1, rc.getRun() + " charge " + rc.getCardyCharge());
            assertTrue(rc.getCardyMeasuredS() > 0 && rc.getCardyPredictedS() > 0, rc.toString());
        }
    }

    @Test
    @Order(6)
    void watchRunStreamsWhileACheckpointIsProfiled() throws Exception {
        List<RunUpdate> updates = new CopyOnWriteArrayList<>();
        Context.CancellableContext ctx = Context.current().withCancellation();
        Thread watcher = Thread.ofVirtual().start(() -> ctx.run(() -> {
            try {
                Iterator<RunUpdate> it = QueryGrpc.newBlockingStub(query).watchRun(WatchRunRequest.newBuilder().setRun("watched-run").build());
                while (it.hasNext()) updates.add(it.next());
            } catch (StatusRuntimeException e) {
                // cancelled at the end of the test
            }
        }));
        Thread.sleep(500);
        IngestResult r = Uploader.upload(ingest, Fixtures.root().resolve("runs/lora-r4-a16/checkpoint-150"),
                UploadHeader.newBuilder().setRun("watched-run").setStep(150).build(), p -> { });
        assertEquals(IngestResult.State.NEW, r.getState());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (updates.stream().map(RunUpdate::getTarget).distinct().count() < UNITS_PER_CHECKPOINT && System.nanoTime() < deadline) Thread.sleep(200);
        ctx.cancel(null);
        watcher.join(5000);
        Set<String> targets = new HashSet<>();
        updates.forEach(u -> targets.add(u.getTarget()));
        assertEquals(UNITS_PER_CHECKPOINT, targets.size(), "an update per unit: " + targets);
        assertTrue(updates.stream().allMatch(u -> u.getRun().equals("watched-run") && u.getUnitsTotal() == UNITS_PER_CHECKPOINT));
        assertTrue(updates.stream().anyMatch(u -> u.getUnitsDone() == UNITS_PER_CHECKPOINT), "progress reaches done = total");
    }

    @Test
    @Order(7)
    void answersSurviveAQueryRestart() throws Exception {
        CompareResponse before = compareLayer0();
        var runsBefore = QueryGrpc.newBlockingStub(query).listRuns(ListRunsRequest.getDefaultInstance());
        assertTrue(stack.stop(Component.QUERY, Duration.ofSeconds(20)));
        stack.start(Component.QUERY);
        stack.awaitReady(Component.QUERY, System.nanoTime() + TimeUnit.SECONDS.toNanos(120));
        query.shutdownNow();
        query = channel(Component.QUERY);
        // the view is rebuilt from the results topic; wait until it has caught up
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        CompareResponse after = null;
        while (System.nanoTime() < deadline) {
            after = compareLayer0();
            if (after.getRunsList().stream().allMatch(RunComparison::getFound) && after.equals(before)) break;
            Thread.sleep(250);
        }
        assertEquals(before, after, "Compare after restart");
        assertEquals(runsBefore, QueryGrpc.newBlockingStub(query).listRuns(ListRunsRequest.getDefaultInstance()), "ListRuns after restart");
    }

    /** Events that do not parse go to the dead-letter topic with the reason; nothing is computed; the profiler stays ready. */
    @Test
    @Order(8)
    void unparseableEventsAreDeadLettered() throws Exception {
        Properties p = new Properties();
        p.setProperty("bootstrap.servers", stack.kafkaBootstrap());
        String marker = "garbage-" + UUID.randomUUID();
        try (var producer = new org.apache.kafka.clients.producer.KafkaProducer<String, byte[]>(p,
                new org.apache.kafka.common.serialization.StringSerializer(), new org.apache.kafka.common.serialization.ByteArraySerializer())) {
            byte[] junk = (marker + "\u0000\u00ff not a protobuf").getBytes(java.nio.charset.StandardCharsets.UTF_8);
            producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(Topics.CHECKPOINTS_INGESTED, marker, junk)).get();
            producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(Topics.PROFILE_TASKS, marker, junk)).get();
        }
        Properties c = new Properties();
        c.setProperty("bootstrap.servers", stack.kafkaBootstrap());
        c.setProperty("group.id", "it-dlq-" + UUID.randomUUID());
        c.setProperty("auto.offset.reset", "earliest");
        List<String> reasons = new ArrayList<>();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(Topics.PROFILE_TASKS_DLQ));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (reasons.size() < 2 && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(250))) {
                    if (!marker.equals(r.key())) continue;
                    var h = r.headers().lastHeader("dead-letter-reason");
                    reasons.add(h == null ? "(no reason header)" : new String(h.value(), java.nio.charset.StandardCharsets.UTF_8));
                }
            }
        }
        assertEquals(2, reasons.size(), "both bad events dead-lettered: " + reasons);
        for (String r : reasons) assertTrue(r.toLowerCase(java.util.Locale.ROOT).contains("protocol message") || r.contains("parse"), r);
        assertTrue(stack.ready(Component.PROFILER), "the profiler stays ready");
    }

    /** A checkpoint a training job already wrote to the object store is registered by bucket + prefix, once. */
    @Test
    @Order(9)
    void registerACheckpointAlreadyInTheObjectStore() throws Exception {
        Path src = Fixtures.root().resolve("runs/mps-r8-chi8-a16/checkpoint-30");
        String prefix = "incoming/job-" + UUID.randomUUID().toString().substring(0, 8) + "/";
        for (Path f : Uploader.files(src)) s3.put(prefix + f.getFileName(), f, "application/octet-stream");
        var stub = dev.entangle.proto.ingest.v1.CheckpointIngestGrpc.newBlockingStub(ingest).withDeadlineAfter(60, TimeUnit.SECONDS);
        var req = dev.entangle.proto.ingest.v1.RegisterRequest.newBuilder().setPrefix(prefix)
                .setHeader(UploadHeader.newBuilder().setRun("registered-run").setStep(30)).build();
        IngestResult first = stub.register(req);
        assertEquals(IngestResult.State.NEW, first.getState());
        assertEquals("registered-run", first.getRun());
        assertTrue(s3.exists(first.getManifestKey()));
        assertEquals(IngestResult.State.DUPLICATE, stub.register(req).getState());
        List<CheckpointIngested> events = KafkaTopics.read(Topics.CHECKPOINTS_INGESTED, CheckpointIngested::parseFrom,
                e -> e.getCheckpointId().equals(first.getCheckpointId()), 2, Duration.ofSeconds(5));
        assertEquals(1, events.size(), "one event for the registered checkpoint");
    }
}
