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

    static LocalStack stack;
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
        ingest = SharedStack.channel("checkpoint-ingest");
        query = SharedStack.channel("query");
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
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline && out.values().stream().mapToInt(List::size).sum() < atLeast) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(250))) {
                    var h = r.headers().lastHeader("dead-letter-reason");
                    out.computeIfAbsent(String.valueOf(r.key()), k -> new ArrayList<>())
                            .add(h == null ? "(no reason header)" : new String(h.value(), StandardCharsets.UTF_8));
                }
            }
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
        int code = cl.execute("ingest", "--ingest", "127.0.0.1:" + stack.port("checkpoint-ingest"), ckpt.toString());
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

}
