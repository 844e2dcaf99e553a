package dev.entangle.it;

import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.entangle.cli.EntangleCommand;
import dev.entangle.cli.Uploader;
import dev.entangle.core.profile.CheckpointProfiler;
import dev.entangle.core.profile.ProfileCalculator;
import dev.entangle.core.safetensors.SafetensorsFile;
import dev.entangle.core.safetensors.SafetensorsWriter;
import dev.entangle.core.testing.DoraFixtures;
import dev.entangle.core.testing.Fixtures;
import dev.entangle.core.testing.TrainerOutput;
import dev.entangle.proto.Topics;
import dev.entangle.proto.events.v1.CheckpointIngested;
import dev.entangle.proto.events.v1.CheckpointSaved;
import dev.entangle.proto.events.v1.ProfileComputed;
import dev.entangle.proto.events.v1.UnitKind;
import dev.entangle.proto.ingest.v1.UploadHeader;
import dev.entangle.proto.query.v1.CompareRequest;
import dev.entangle.proto.query.v1.CompareResponse;
import dev.entangle.proto.query.v1.Metric;
import dev.entangle.proto.query.v1.QueryGrpc;
import dev.entangle.proto.query.v1.RunComparison;
import dev.entangle.proto.query.v1.StepSelector;
import dev.entangle.proto.query.v1.SweepAxis;
import dev.entangle.proto.query.v1.SweepPoint;
import dev.entangle.proto.query.v1.SweepRequest;
import dev.entangle.proto.query.v1.TimelinePoint;
import dev.entangle.proto.query.v1.TimelineRequest;
import dev.entangle.it.kit.StackKit;
import dev.entangle.stack.Component;
import dev.entangle.stack.LocalStack;
import dev.entangle.store.S3ObjectStore;
import io.grpc.ManagedChannel;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A training cluster as it is, against the real stack: HF Trainer-shaped checkpoint folders
 * (fixture adapters and models, trainer_state.json, the four pickles, tokenizer files, no
 * trainer_event.json) ingested with no flags by the CLI, written into the stack's bucket object
 * by object with an S3-format notification per object as MinIO publishes them (duplicates,
 * out-of-order delivery, a marker landing before a shard), and registered by a training job's
 * checkpoint event. Every step is profiled once, the eval losses are the query's test_loss,
 * and only the deliberately bad events are dead-lettered, each with its reason.
 */
@ExtendWith(SharedStack.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TrainingClusterTest {

    /** The local stack's watched source (LocalStack: ENTANGLE_INGEST_WATCH_SOURCES = entangle/training/;base=tiny-llama). */
    static final String WATCHED = "training/";
    static final String BASE = "tiny-llama";
    static final List<Long> STEPS = List.of(1L, 30L, 150L);
    static final JsonMapper JSON = JsonMapper.builder().build();

    static StackKit stack;
    static S3ObjectStore s3;
    static ManagedChannel ingest;
    static ManagedChannel query;
    static KafkaProducer<String, byte[]> producer;
    /** Kafka key → the reason each deliberately bad event must be dead-lettered with. */
    static final Map<String, String> badEvents = new LinkedHashMap<>();

    @TempDir
    static Path tmp;

    @BeforeAll
    static void connect() throws Exception {
        stack = SharedStack.stack();
        s3 = SharedStack.s3();
        ingest = SharedStack.channel(Component.INGEST);
        query = SharedStack.channel(Component.QUERY);
        Properties p = new Properties();
        p.setProperty("bootstrap.servers", stack.kafkaBootstrap());
        p.setProperty("acks", "all");
        producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
        Uploader.upload(ingest, Fixtures.base(), UploadHeader.newBuilder().setBaseModelName(BASE).build(), x -> { });   // NEW or DUPLICATE
    }

    @AfterAll
    static void disconnect() {
        if (producer != null) producer.close();
        if (ingest != null) ingest.shutdownNow();
        if (query != null) query.shutdownNow();
    }

    // ---- helpers ------------------------------------------------------------------------------

    /** The notification MinIO's Kafka target publishes for a created object: key "bucket/object", the S3 event record in Records. */
    static byte[] notification(String bucket, String key, long size) {
        ObjectNode root = JSON.createObjectNode();
        root.put("EventName", "s3:ObjectCreated:Put");
        root.put("Key", bucket + "/" + key);
        ArrayNode records = root.putArray("Records");
        ObjectNode r = records.addObject();
        r.put("eventVersion", "2.0");
        r.put("eventSource", "minio:s3");
        r.put("awsRegion", "");
        r.put("eventTime", Instant.now().toString());
        r.put("eventName", "s3:ObjectCreated:Put");
        r.putObject("userIdentity").put("principalId", "training-job");
        ObjectNode s3n = r.putObject("s3");
        s3n.put("s3SchemaVersion", "1.0");
        s3n.put("configurationId", "Config");
        ObjectNode b = s3n.putObject("bucket");
        b.put("name", bucket);
        b.putObject("ownerIdentity").put("principalId", "training-job");
        b.put("arn", "arn:aws:s3:::" + bucket);
        ObjectNode o = s3n.putObject("object");
        o.put("key", URLEncoder.encode(key, StandardCharsets.UTF_8));   // S3 and MinIO URL-encode the key
        o.put("size", size);
        o.put("eTag", UUID.randomUUID().toString().replace("-", ""));
        o.put("contentType", "application/octet-stream");
        o.put("sequencer", Long.toHexString(System.nanoTime()).toUpperCase());
        try {
            return JSON.writeValueAsBytes(root);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static void publish(String topic, String key, byte[] value) throws Exception {
        producer.send(new ProducerRecord<>(topic, key, value)).get(30, TimeUnit.SECONDS);
    }

    /** Writes one file of a checkpoint folder into the bucket and publishes its notification, as MinIO would. */
    static void putAndNotify(String key, Path file) throws Exception {
        s3.put(key, file, "application/octet-stream");
        notify(key, Files.size(file));
    }

    static void notify(String key, long size) throws Exception {
        publish(Topics.OBJECT_STORE_EVENTS, LocalStack.BUCKET + "/" + key, notification(LocalStack.BUCKET, key, size));
    }

    static List<Path> files(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.sorted().toList();
        }
    }

    /** The fixture FFT model split into two shards with an index, as save_pretrained shards a model. */
    static void shard(Path dir) throws IOException {
        Path single = dir.resolve("model.safetensors");
        SafetensorsWriter one = new SafetensorsWriter();
        SafetensorsWriter two = new SafetensorsWriter();
        ObjectNode index = JSON.createObjectNode();
        index.putObject("metadata").put("total_size", Files.size(single));
        ObjectNode map = index.putObject("weight_map");
        try (SafetensorsFile f = SafetensorsFile.open(single)) {
            for (String name : new java.util.TreeSet<>(f.names())) {
                boolean first = name.contains("layers.0.") || name.contains("embed");
                String shard = first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
                (first ? one : two).add(name, f.info(name).dtype(), f.info(name).shape(), f.readDoubles(name));
                map.put(name, shard);
            }
        }
        one.write(dir.resolve("model-00001-of-00002.safetensors"));
        two.write(dir.resolve("model-00002-of-00002.safetensors"));
        Files.write(dir.resolve("model.safetensors.index.json"), JSON.writeValueAsBytes(index));
        Files.delete(single);
    }

    static List<CheckpointIngested> ingested(Set<String> runs, int atLeast, Duration timeout) throws IOException {
        return KafkaTopics.read(Topics.CHECKPOINTS_INGESTED, CheckpointIngested::parseFrom, e -> runs.contains(e.getRun()), atLeast, timeout);
    }

    /** Each (run, step) exactly once; returns checkpoint id by "run/step". */
    static Map<String, String> oncePerStep(List<CheckpointIngested> events, Set<String> runs, List<Long> steps) {
        Map<String, List<String>> byStep = new TreeMap<>();
        for (CheckpointIngested e : events) byStep.computeIfAbsent(e.getRun() + "/" + e.getStep(), k -> new ArrayList<>()).add(e.getCheckpointId());
        Map<String, String> ids = new TreeMap<>();
        for (String run : runs) {
            for (long step : steps) {
                List<String> l = byStep.getOrDefault(run + "/" + step, List.of());
                assertEquals(1, l.size(), "one CheckpointIngested for " + run + " step " + step + ": " + byStep.keySet());
                ids.put(run + "/" + step, l.getFirst());
            }
        }
        assertEquals(runs.size() * steps.size(), byStep.size(), "no other steps: " + byStep.keySet());
        return ids;
    }

    /** Every ΔW unit of these checkpoints profiled exactly once; the results by checkpoint id. */
    static Map<String, List<ProfileComputed>> profiledOnce(Set<String> ids, int unitsEach) throws IOException {
        List<ProfileComputed> results = KafkaTopics.read(Topics.PROFILES_COMPUTED, ProfileComputed::parseFrom,
                r -> ids.contains(r.getCheckpointId()), ids.size() * unitsEach, Duration.ofSeconds(180));
        // a late duplicate would arrive after the last expected result: read on a moment
        results = KafkaTopics.read(Topics.PROFILES_COMPUTED, ProfileComputed::parseFrom, r -> ids.contains(r.getCheckpointId()),
                Integer.MAX_VALUE, Duration.ofSeconds(3));
        Map<String, Integer> perKey = new HashMap<>();
        Map<String, List<ProfileComputed>> byId = new HashMap<>();
        for (ProfileComputed r : results) {
            perKey.merge(r.getCheckpointId() + "/" + r.getTarget(), 1, Integer::sum);
            byId.computeIfAbsent(r.getCheckpointId(), k -> new ArrayList<>()).add(r);
            assertEquals(UnitKind.DELTA, r.getKind(), "no probe in an HF Trainer folder: ΔW units only");
        }
        assertEquals(ids.size() * unitsEach, perKey.size(), "every unit: " + perKey.keySet());
        perKey.forEach((k, n) -> assertEquals(1, n, "profiled once: " + k));
        return byId;
    }

    /** The dead letters of the ingest's event topics: Kafka key → reason. */
    static Map<String, List<String>> deadLetters(int atLeast, Duration timeout) {
        Properties c = new Properties();
        c.setProperty("bootstrap.servers", stack.kafkaBootstrap());
        c.setProperty("group.id", "it-ingest-dlq-" + UUID.randomUUID());
        c.setProperty("auto.offset.reset", "earliest");
        Map<String, List<String>> out = new TreeMap<>();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(c, new StringDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(Topics.INGEST_EVENTS_DLQ));
            Waits.during(timeout, () -> {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(250))) {
                    var h = r.headers().lastHeader("dead-letter-reason");
                    out.computeIfAbsent(String.valueOf(r.key()), k -> new ArrayList<>())
                            .add(h == null ? "(no reason header)" : new String(h.value(), StandardCharsets.UTF_8));
                }
                return out.values().stream().mapToInt(List::size).sum() >= atLeast;
            });
        }
        return out;
    }

    // ---- 1. the CLI reads what trainers write ------------------------------------------------

    @Test
    @Order(1)
    void theCliIngestsAnHfTrainerFolderWithNoFlags() throws Exception {
        Path ckpt = TrainerOutput.write(tmp.resolve("train/my-run"), "lora-r4-a16", 150, false);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = EntangleCommand.commandLine();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute("ingest", "--ingest", "127.0.0.1:" + stack.port(Component.INGEST), ckpt.toString());
        assertEquals(0, code, "exit code; stderr: " + err);
        var result = JSON.readTree(out.toString());
        assertEquals("my-run", result.get("run").asText(), out.toString());
        assertEquals("150", result.get("step").asText());
        String e = err.toString();
        assertEquals(1, e.split("optimizer.pt", -1).length - 1, "the pickles said once: " + e);
        assertTrue(e.contains("not opened, not stored: optimizer.pt, rng_state.pth, scheduler.pt, training_args.bin"), e);
        double[] losses = TrainerOutput.losses("lora-r4-a16").get(150L);
        List<CheckpointIngested> ev = ingested(Set.of("my-run"), 1, Duration.ofSeconds(20));
        assertEquals(1, ev.size());
        assertEquals(150, ev.getFirst().getStep());
        assertEquals(losses[0], ev.getFirst().getMetrics().getTrainLoss(), 0, "loss at step 150");
        assertEquals(losses[1], ev.getFirst().getMetrics().getTestLoss(), 0, "eval_loss at step 150");
        assertEquals(TrainerOutput.learningRate(150), ev.getFirst().getHyper().getLearningRate(), 0);

        // a refusal names the user's folder, never the service's spool
        Path broken = TrainerOutput.write(tmp.resolve("train/broken-run"), "lora-r4-a16", 30, false);
        byte[] w = Files.readAllBytes(broken.resolve("adapter_model.safetensors"));
        Files.write(broken.resolve("adapter_model.safetensors"), java.util.Arrays.copyOf(w, w.length - 40));
        err.getBuffer().setLength(0);
        var s = org.junit.jupiter.api.Assertions.assertThrows(io.grpc.StatusRuntimeException.class, () ->
                Uploader.uploadUnchecked(ingest, broken, UploadHeader.getDefaultInstance(), x -> { }));
        String msg = s.getStatus().getDescription();
        assertTrue(msg.startsWith(broken.toAbsolutePath() + "/adapter_model.safetensors: truncated file"), msg);
        assertFalse(msg.contains("entangle-ingest") || msg.contains("upload-"), msg);
    }

    // ---- 2. object-store notifications --------------------------------------------------------

    @Test
    @Order(2)
    void aTrainingJobWritingIntoTheBucketIsProfiledOncePerStep() throws Exception {
        Path out = tmp.resolve("cluster");
        Map<String, String> fixture = Map.of("hf-lora", "lora-r16-a16", "hf-fft", "fft-lr1e-4");
        Set<String> runs = Set.of("hf-lora", "hf-fft");
        for (long step : STEPS) {
            if (step == 150) {
                // the service is idle (steps 1 and 30 are in), so the markers below are seen before their late shards
                ingested(runs, 4, Duration.ofSeconds(90));
            }
            double retriesBefore = ServiceMetrics.sum(ServiceMetrics.scrape(Component.INGEST), "entangle_ingest_watch_retries_total ([0-9.E+]+)");
            for (String run : List.of("hf-lora", "hf-fft")) {
                Path dir = TrainerOutput.write(out.resolve(run), fixture.get(run), step, false);
                if (run.equals("hf-fft") && step == 150) shard(dir);
                String prefix = WATCHED + run + "/checkpoint-" + step + "/";
                List<Path> files = files(dir);
                Path marker = dir.resolve("trainer_state.json");
                List<Path> rest = files.stream().filter(f -> !f.equals(marker)).toList();
                if (step == 1) {
                    // as HF Trainer writes it: the weights and everything else, then trainer_state.json last
                    for (Path f : rest) putAndNotify(prefix + f.getFileName(), f);
                    putAndNotify(prefix + "trainer_state.json", marker);
                } else if (step == 30) {
                    // every object is there; the notifications arrive shuffled (the marker's first), some twice
                    for (Path f : files) s3.put(prefix + f.getFileName(), f, "application/octet-stream");
                    List<Path> shuffled = new ArrayList<>(files);
                    java.util.Collections.shuffle(shuffled, new java.util.Random(step + run.hashCode()));
                    shuffled.remove(marker);
                    shuffled.addFirst(marker);
                    for (Path f : shuffled) notify(prefix + f.getFileName(), Files.size(f));
                    notify(prefix + "trainer_state.json", Files.size(marker));
                    notify(prefix + rest.getFirst().getFileName(), Files.size(rest.getFirst()));
                } else {
                    // a parallel upload: the marker lands before a shard (hf-fft: the second of two; hf-lora: the adapter)
                    Path late = run.equals("hf-fft") ? dir.resolve("model-00002-of-00002.safetensors") : dir.resolve("adapter_model.safetensors");
                    for (Path f : rest) if (!f.equals(late)) putAndNotify(prefix + f.getFileName(), f);
                    putAndNotify(prefix + "trainer_state.json", marker);
                    Thread.sleep(1500);
                    putAndNotify(prefix + late.getFileName(), late);
                }
            }
            if (step == 150) {
                List<CheckpointIngested> all = ingested(runs, 6, Duration.ofSeconds(60));
                assertEquals(6, all.size(), "the marker-first checkpoints came in once their shards had landed");
                double retries = ServiceMetrics.sum(ServiceMetrics.scrape(Component.INGEST), "entangle_ingest_watch_retries_total ([0-9.E+]+)");
                assertTrue(retries > retriesBefore, "the service looked again for the late shards: " + retriesBefore + " -> " + retries);
            }
        }
        // a replay of a step already registered
        notify(WATCHED + "hf-lora/checkpoint-1/trainer_state.json", 1);

        List<CheckpointIngested> events;
        events = ingested(runs, Integer.MAX_VALUE, Duration.ofSeconds(4));   // and nothing more comes
        Map<String, String> ids = oncePerStep(events, runs, STEPS);
        for (CheckpointIngested e : events) {
            assertEquals(4, e.getTargetsCount(), e.getRun() + " " + e.getStep());
            assertFalse(e.getHasProbe());
            if (e.getRun().equals("hf-fft")) assertEquals(BASE, e.getBaseId(), "the watched source's base");
            double[] l = TrainerOutput.losses(fixture.get(e.getRun())).get(e.getStep());
            assertEquals(l[1], e.getMetrics().getTestLoss(), 0, "eval_loss of " + e.getRun() + " step " + e.getStep());
            assertEquals(l[0], e.getMetrics().getTrainLoss(), 0);
        }
        profiledOnce(new java.util.HashSet<>(ids.values()), 4);

        // eval losses from trainer_state.json are the query's test_loss: Compare, Timeline, Sweep
        var q = QueryGrpc.newBlockingStub(query).withDeadlineAfter(30, TimeUnit.SECONDS);
        CompareResponse cmp = Waits.until("hf-lora and hf-fft at step 150 in the query view", Duration.ofSeconds(30),
                () -> q.compare(CompareRequest.newBuilder().addRuns("hf-lora").addRuns("hf-fft").setTarget("layers.0.q_proj")
                        .setStep(StepSelector.newBuilder().setLatest(true)).build()),
                c -> c.getRunsList().stream().allMatch(r -> r.getFound() && r.getStep() == 150));
        for (RunComparison rc : cmp.getRunsList()) {
            assertTrue(rc.getFound(), rc.getRun());
            assertEquals(150, rc.getStep());
            assertEquals(TrainerOutput.losses(fixture.get(rc.getRun())).get(150L)[1], rc.getTestLoss(), 0, "Compare test_loss of " + rc.getRun());
        }
        List<TimelinePoint> tl = q.timeline(TimelineRequest.newBuilder().setRun("hf-lora").setTarget("layers.0.q_proj")
                .setMetric(Metric.TEST_LOSS).build()).getPointsList();
        assertEquals(STEPS, tl.stream().map(TimelinePoint::getStep).toList());
        for (TimelinePoint p : tl) assertEquals(TrainerOutput.losses("lora-r16-a16").get(p.getStep())[1], p.getValue(), 0, "Timeline step " + p.getStep());
        List<SweepPoint> sw = q.sweep(SweepRequest.newBuilder().addRuns("hf-lora").addRuns("hf-fft").setTarget("layers.0.q_proj")
                .setBy(SweepAxis.LR).setStep(StepSelector.newBuilder().setLatest(true)).build()).getPointsList();
        assertEquals(2, sw.size());
        for (SweepPoint p : sw) {
            assertEquals(TrainerOutput.losses(fixture.get(p.getRun())).get(150L)[1], p.getTestLoss(), 0, "Sweep test_loss of " + p.getRun());
            assertEquals(TrainerOutput.learningRate(150), p.getX(), 0, "learning_rate at step 150 from log_history");
        }
    }

    // ---- 3. a training job's checkpoint event -------------------------------------------------

    @Test
    @Order(3)
    void aCheckpointEventRegistersAFolderAlreadyInTheBucket() throws Exception {
        // a DoRA adapter (needs its base) that no notification announced
        Path dora = DoraFixtures.write(tmp.resolve("job/hf-dora/checkpoint-150"), 9);
        Files.write(dora.resolve("trainer_state.json"), TrainerOutput.trainerState("lora-r4-a16", 150));
        for (String p : TrainerOutput.PICKLES) Files.write(dora.resolve(p), new byte[]{(byte) 0x80, 2});
        String prefix = WATCHED + "jobs/hf-dora/checkpoint-150/";
        for (Path f : files(dora)) s3.put(prefix + f.getFileName(), f, "application/octet-stream");
        String json = "{\"bucket\":\"" + LocalStack.BUCKET + "\",\"prefix\":\"" + prefix + "\",\"run\":\"hf-dora\",\"step\":150,\"base\":\"" + BASE + "\"}";
        publish(Topics.CHECKPOINTS_SAVED, "hf-dora", json.getBytes(StandardCharsets.UTF_8));
        publish(Topics.CHECKPOINTS_SAVED, "hf-dora", json.getBytes(StandardCharsets.UTF_8));   // a duplicate
        publish(Topics.CHECKPOINTS_SAVED, "hf-dora", CheckpointSaved.newBuilder().setBucket(LocalStack.BUCKET).setPrefix(prefix)
                .setRun("hf-dora").setStep(150).setBase(BASE).build().toByteArray());      // the same as protobuf
        List<CheckpointIngested> events = ingested(Set.of("hf-dora"), 1, Duration.ofSeconds(60));
        events = ingested(Set.of("hf-dora"), Integer.MAX_VALUE, Duration.ofSeconds(4));
        Map<String, String> ids = oncePerStep(events, Set.of("hf-dora"), List.of(150L));
        CheckpointIngested e = events.getFirst();
        assertEquals(dev.entangle.proto.events.v1.Method.DORA, e.getMethod());
        assertEquals(BASE, e.getBaseId());
        assertEquals(TrainerOutput.losses("lora-r4-a16").get(150L)[1], e.getMetrics().getTestLoss(), 0);
        List<ProfileComputed> results = profiledOnce(Set.copyOf(ids.values()), 4).get(e.getCheckpointId());
        // the stack's DoRA ΔW (base from its stored blobs) equals the offline profile (base from its folder)
        var offline = new CheckpointProfiler(ProfileCalculator.fromEnvironment())
                .profile(new CheckpointProfiler.Request(dora, Fixtures.base(), null, null, null, false)).get("deltas");
        for (ProfileComputed r : results) {
            var o = offline.get(r.getTarget()).get("profile");
            var p = r.getProfiles(0);
            assertEquals(o.size(), p.getCutsCount(), r.getTarget());
            for (int i = 0; i < p.getCutsCount(); i++) {
                assertEquals(o.get(i).get("S").doubleValue(), p.getCuts(i).getEntropy(), 1e-9, r.getTarget() + " cut " + (i + 1));
            }
        }
    }

    /** examples/training-cluster/entangle_callback.py's on_save through a real broker (kafka-python: Debian python3-kafka). */
    @Test
    @Order(4)
    void theTrainerCallbackPublishesACheckpointEventThatIsIngestedOnce() throws Exception {
        Path python = Path.of("/usr/bin/python3");
        boolean kafkaPython = Files.isExecutable(python)
                && new ProcessBuilder(python.toString(), "-c", "import kafka").redirectErrorStream(true).start().waitFor() == 0;
        // a requirement, not an assumption: skipped, the callback would go untested wherever it is missing
        assertTrue(kafkaPython, "kafka-python is not installed for /usr/bin/python3 (Debian python3-kafka; ./entangle test installs it)");
        Path out = tmp.resolve("callback/cb-run");
        Path dir = TrainerOutput.write(out, "lora-r4-a16", 30, false);
        for (Path f : files(dir)) s3.put(WATCHED + "cb/cb-run/checkpoint-30/" + f.getFileName(), f, "application/octet-stream");
        Path examples = Fixtures.root().getParent().resolve("training-cluster");
        ProcessBuilder pb = new ProcessBuilder(python.toString(), "test_entangle_callback.py", "--bootstrap", stack.kafkaBootstrap(),
                out.toString(), "30", LocalStack.BUCKET, WATCHED + "cb").directory(examples.toFile()).redirectErrorStream(true);
        pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");
        Process p = pb.start();
        String printed = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), printed);
        List<CheckpointIngested> events = ingested(Set.of("cb-run"), 1, Duration.ofSeconds(60));
        events = ingested(Set.of("cb-run"), Integer.MAX_VALUE, Duration.ofSeconds(3));
        oncePerStep(events, Set.of("cb-run"), List.of(30L));
        assertEquals(TrainerOutput.losses("lora-r4-a16").get(30L)[1], events.getFirst().getMetrics().getTestLoss(), 0);
    }

    // ---- 4. bad events: dead-lettered with the reason, nothing stored ------------------------

    @Test
    @Order(5)
    void badEventsAreDeadLetteredWithTheirReasonAndNothingElseIs() throws Exception {
        long objects = 0;
        for (String p : List.of("blobs/", "checkpoints/", "runs/")) objects += s3.list(p).size();
        // notifications
        bad(Topics.OBJECT_STORE_EVENTS, "bad/not-json", "this is {not JSON".getBytes(StandardCharsets.UTF_8), "not JSON");
        bad(Topics.OBJECT_STORE_EVENTS, "no-such-bucket/training/x/checkpoint-1/trainer_state.json",
                notification("no-such-bucket", "training/x/checkpoint-1/trainer_state.json", 10), "unknown bucket 'no-such-bucket'");
        bad(Topics.OBJECT_STORE_EVENTS, "entangle/elsewhere/notes.txt", notification(LocalStack.BUCKET, "elsewhere/notes.txt", 10), "key outside any checkpoint");
        bad(Topics.OBJECT_STORE_EVENTS, "entangle/training/loose.json", notification(LocalStack.BUCKET, WATCHED + "loose.json", 10), "key outside any checkpoint");
        Path pickled = Files.createDirectories(tmp.resolve("pickled/checkpoint-5"));
        Files.writeString(pickled.resolve("adapter_config.json"), Files.readString(Fixtures.root().resolve("runs/lora-r4-a16/checkpoint-1/adapter_config.json")));
        Files.write(pickled.resolve("adapter_model.bin"), new byte[]{(byte) 0x80, 2, 'c'});
        Files.write(pickled.resolve("trainer_state.json"), TrainerOutput.trainerState("lora-r4-a16", 1));
        for (Path f : files(pickled)) s3.put(WATCHED + "pickled-run/checkpoint-5/" + f.getFileName(), f, "application/octet-stream");
        bad(Topics.OBJECT_STORE_EVENTS, "entangle/training/pickled-run/checkpoint-5/trainer_state.json",
                notification(LocalStack.BUCKET, WATCHED + "pickled-run/checkpoint-5/trainer_state.json", 10),
                "s3://entangle/training/pickled-run/checkpoint-5/adapter_model.bin: pickle format refused");
        // checkpoint events
        bad(Topics.CHECKPOINTS_SAVED, "bad-event-garbage", "not an event".getBytes(StandardCharsets.UTF_8), "neither JSON nor a CheckpointSaved");
        bad(Topics.CHECKPOINTS_SAVED, "bad-event-outside", ("{\"bucket\":\"entangle\",\"prefix\":\"elsewhere/run/checkpoint-1\"}").getBytes(StandardCharsets.UTF_8),
                "is under no watched prefix");
        bad(Topics.CHECKPOINTS_SAVED, "bad-event-typo", "{\"bucket\":\"entangle\",\"prefx\":\"training/x/\"}".getBytes(StandardCharsets.UTF_8),
                "not a CheckpointSaved in JSON");
        // last (it waits out the retries): a marker with no weights beside it
        s3.put(WATCHED + "empty-run/checkpoint-5/trainer_state.json", TrainerOutput.trainerState("lora-r4-a16", 1), "application/json");
        bad(Topics.OBJECT_STORE_EVENTS, "entangle/training/empty-run/checkpoint-5/trainer_state.json",
                notification(LocalStack.BUCKET, WATCHED + "empty-run/checkpoint-5/trainer_state.json", 10),
                "s3://entangle/training/empty-run/checkpoint-5: checkpoint incomplete");

        Map<String, List<String>> dlq = deadLetters(badEvents.size(), Duration.ofSeconds(90));
        assertEquals(badEvents.keySet(), dlq.keySet(), "only the deliberately bad events are dead-lettered: " + dlq);
        badEvents.forEach((key, reason) -> {
            assertEquals(1, dlq.get(key).size(), key + " once: " + dlq.get(key));
            assertTrue(dlq.get(key).getFirst().contains(reason), key + ": " + dlq.get(key).getFirst());
        });
        assertTrue(dlq.get("entangle/training/empty-run/checkpoint-5/trainer_state.json").getFirst().contains("adapter_config.json"),
                "says which files the folder lacks");
        long after = 0;
        for (String p : List.of("blobs/", "checkpoints/", "runs/")) after += s3.list(p).size();
        assertEquals(objects, after, "nothing stored for a bad event");
        assertTrue(stack.ready(Component.INGEST), "the ingest service stays ready");
    }

    static void bad(String topic, String key, byte[] value, String reason) throws Exception {
        badEvents.put(key, reason);
        publish(topic, key, value);
    }
}
