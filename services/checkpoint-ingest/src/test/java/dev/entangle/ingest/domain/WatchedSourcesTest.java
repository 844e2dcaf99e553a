package dev.entangle.ingest.domain;

import dev.entangle.proto.events.v1.CheckpointSaved;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What an object-store notification or a checkpoint event means, before anything is read. */
class WatchedSourcesTest {

    static final WatchedSources SOURCES = WatchedSources.parse(List.of(
            "training/runs;tenant=acme;base=tiny-llama", "training/runs/globex/;tenant=globex", " shared ", "/open/jobs/"));

    @Test
    void entriesParseWithTheirTenantAndBase() {
        WatchedSources.Source acme = SOURCES.sourceOf("training", "runs/my-run/checkpoint-1/x").orElseThrow();
        assertEquals(new WatchedSources.Source("training", "runs/", "acme", "tiny-llama"), acme);
        assertEquals("globex", SOURCES.sourceOf("training", "runs/globex/r/checkpoint-1/x").orElseThrow().tenant(), "the longest prefix wins");
        assertEquals(new WatchedSources.Source("shared", "", null, null), SOURCES.sourceOf("shared", "a/checkpoint-1/b").orElseThrow());
        assertEquals("jobs/", SOURCES.sourceOf("open", "jobs/r/checkpoint-2/x").orElseThrow().prefix());
        assertTrue(SOURCES.sourceOf("training", "elsewhere/r/checkpoint-1/x").isEmpty());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> WatchedSources.parse(List.of("b/p;owner=x"))).getMessage().contains("owner"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> WatchedSources.parse(List.of("b/p;tenant"))).getMessage().contains("KEY=VALUE"));
    }

    @Test
    void onlyTheMarkerOfAFolderBelowAWatchedPrefixRegistersIt() {
        String marker = "trainer_state.json";
        var reg = assertInstanceOf(WatchedSources.Register.class, SOURCES.onCreated("training", "runs/my-run/checkpoint-150/trainer_state.json", marker));
        assertEquals("runs/my-run/checkpoint-150/", reg.prefix());
        assertEquals("acme", reg.source().tenant());
        assertInstanceOf(WatchedSources.Skip.class, SOURCES.onCreated("training", "runs/my-run/checkpoint-150/adapter_model.safetensors", marker));
        assertInstanceOf(WatchedSources.Skip.class, SOURCES.onCreated("training", "runs/my-run/runs/Dec01/events.out.tfevents", marker));
        assertInstanceOf(WatchedSources.Register.class, SOURCES.onCreated("training", "runs/final-run/trainer_state.json", marker), "HF's final save");
        String unknown = assertInstanceOf(WatchedSources.Refuse.class, SOURCES.onCreated("other", "runs/r/checkpoint-1/trainer_state.json", marker)).reason();
        assertTrue(unknown.startsWith("unknown bucket 'other'"), unknown);
        String outside = assertInstanceOf(WatchedSources.Refuse.class, SOURCES.onCreated("training", "logs/trainer_state.json", marker)).reason();
        assertTrue(outside.startsWith("key outside any checkpoint: s3://training/logs/trainer_state.json"), outside);
        String top = assertInstanceOf(WatchedSources.Refuse.class, SOURCES.onCreated("training", "runs/trainer_state.json", marker)).reason();
        assertTrue(top.contains("directly under the watched prefix s3://training/runs/"), top);
    }

    @Test
    void s3NotificationsAsMinioAndS3WriteThem() {
        String minio = "{\"EventName\":\"s3:ObjectCreated:Put\",\"Key\":\"training/runs/my run/checkpoint-1/trainer_state.json\",\"Records\":[{"
                + "\"eventVersion\":\"2.0\",\"eventSource\":\"minio:s3\",\"eventName\":\"s3:ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"training\"},"
                + "\"object\":{\"key\":\"runs%2Fmy+run%2Fcheckpoint-1%2Ftrainer_state.json\",\"size\":12}}}]}";
        List<ObjectStoreEvents.Record> r = ObjectStoreEvents.parse(minio.getBytes(StandardCharsets.UTF_8));
        assertEquals(List.of(new ObjectStoreEvents.Record("s3:ObjectCreated:Put", "training", "runs/my run/checkpoint-1/trainer_state.json")), r);
        assertTrue(r.getFirst().created());
        String aws = "{\"Records\":[{\"eventName\":\"ObjectCreated:CompleteMultipartUpload\",\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"k\"}}},"
                + "{\"eventName\":\"ObjectRemoved:Delete\",\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"k\"}}}]}";
        List<ObjectStoreEvents.Record> two = ObjectStoreEvents.parse(aws.getBytes(StandardCharsets.UTF_8));
        assertTrue(two.get(0).created());
        assertTrue(!two.get(1).created());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ObjectStoreEvents.parse("nope {".getBytes(StandardCharsets.UTF_8)))
                .getMessage().startsWith("not JSON"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ObjectStoreEvents.parse("{\"Event\":\"s3:TestEvent\"}".getBytes(StandardCharsets.UTF_8)))
                .getMessage().contains("no Records (s3:TestEvent)"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ObjectStoreEvents.parse("{\"Records\":[{\"eventName\":\"x\"}]}".getBytes(StandardCharsets.UTF_8)))
                .getMessage().contains("s3.bucket.name"));
    }

    @Test
    void checkpointEventsAreProtobufOrJson() {
        CheckpointSaved want = CheckpointSaved.newBuilder().setBucket("training").setPrefix("runs/r/checkpoint-5/").setRun("r").setStep(5)
                .setBase("tiny-llama").setTestLoss(1.25).build();
        assertEquals(want, CheckpointWatch.parseSaved(want.toByteArray()));
        assertEquals(want, CheckpointWatch.parseSaved(("  {\"bucket\":\"training\",\"prefix\":\"runs/r/checkpoint-5/\",\"run\":\"r\",\"step\":5,"
                + "\"base\":\"tiny-llama\",\"test_loss\":1.25}").getBytes(StandardCharsets.UTF_8)));
        assertEquals(want, CheckpointWatch.parseSaved(("{\"bucket\":\"training\",\"prefix\":\"runs/r/checkpoint-5/\",\"run\":\"r\",\"step\":\"5\","
                + "\"base\":\"tiny-llama\",\"testLoss\":1.25}").getBytes(StandardCharsets.UTF_8)));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CheckpointWatch.parseSaved("{\"bucket\":\"b\",\"stepp\":1}".getBytes(StandardCharsets.UTF_8)))
                .getMessage().startsWith("checkpoint event: not a CheckpointSaved in JSON"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CheckpointWatch.parseSaved("not an event".getBytes(StandardCharsets.UTF_8)))
                .getMessage().startsWith("checkpoint event: neither JSON nor a CheckpointSaved protobuf"));
    }
}
