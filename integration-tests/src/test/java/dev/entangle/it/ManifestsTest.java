package dev.entangle.it;

import dev.entangle.proto.Topics;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every manifest parses, and names, ports, topics and config keys agree with the services' own configuration. */
class ManifestsTest {

    static Path root;
    static final Map<String, Map<String, Object>> deployments = new HashMap<>();
    static final Map<String, Map<String, Object>> byKindName = new HashMap<>();

    static Path root() {
        for (Path q = Path.of("").toAbsolutePath(); q != null; q = q.getParent()) {
            if (Files.isDirectory(q.resolve("k8s/base"))) return q;
        }
        throw new IllegalStateException("k8s/base not found");
    }

    @BeforeAll
    @SuppressWarnings("unchecked")
    static void parseAll() throws IOException {
        root = root();
        List<Path> files;
        try (Stream<Path> s = Files.walk(root.resolve("k8s"))) {
            files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        assertFalse(files.isEmpty());
        for (Path f : files) {
            try (Reader r = Files.newBufferedReader(f)) {
                for (Object doc : new Yaml().loadAll(r)) {
                    assertNotNull(doc, f + " has an empty document");
                    Map<String, Object> m = (Map<String, Object>) doc;
                    String kind = (String) m.get("kind");
                    if (kind == null) continue; // kustomize patches in overlays carry kind; kustomization.yaml does too
                    Map<String, Object> meta = (Map<String, Object>) m.get("metadata");
                    String name = meta == null ? "" : (String) meta.get("name");
                    if (f.startsWith(root.resolve("k8s/base"))) {
                        byKindName.put(kind + "/" + name, m);
                        if ("Deployment".equals(kind)) deployments.put(name, m);
                    }
                }
            }
        }
    }

    static Properties props(String service) throws IOException {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(root.resolve("services/" + service + "/src/main/resources/application.properties"))) {
            p.load(in);
        }
        return p;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> container(String deployment) {
        Map<String, Object> spec = (Map<String, Object>) ((Map<String, Object>) ((Map<String, Object>) deployments.get(deployment).get("spec")).get("template")).get("spec");
        return ((List<Map<String, Object>>) spec.get("containers")).getFirst();
    }

    @Test
    @SuppressWarnings("unchecked")
    void deploymentsListenWhereTheServicesDoWithProbesAndSecretCredentials() throws IOException {
        Pattern port = Pattern.compile("\\$\\{(ENTANGLE_[A-Z_]+_HTTP_PORT):(\\d+)}");
        for (String service : List.of("checkpoint-ingest", "profiler", "theory", "query")) {
            assertTrue(deployments.containsKey(service), "k8s/base has a Deployment " + service);
            Matcher m = port.matcher(props(service).getProperty("quarkus.http.port"));
            assertTrue(m.matches(), service + " reads its port from an ENTANGLE_*_HTTP_PORT variable");
            Map<String, Object> c = container(service);
            Map<String, Object> p = ((List<Map<String, Object>>) c.get("ports")).getFirst();
            assertEquals(Integer.parseInt(m.group(2)), p.get("containerPort"), service + " container port");
            List<Map<String, Object>> env = (List<Map<String, Object>>) c.get("env");
            assertTrue(env.stream().anyMatch(e -> m.group(1).equals(e.get("name")) && m.group(2).equals(e.get("value"))), service + " port variable");
            assertEquals("/q/health/ready", ((Map<String, Object>) ((Map<String, Object>) c.get("readinessProbe")).get("httpGet")).get("path"));
            assertEquals("/q/health/live", ((Map<String, Object>) ((Map<String, Object>) c.get("livenessProbe")).get("httpGet")).get("path"));
            assertNotNull(((Map<String, Object>) c.get("resources")).get("requests"), service + " resource requests");
            for (Map<String, Object> e : env) {
                String name = (String) e.get("name");
                if (name.contains("SECRET") || name.contains("ACCESS_KEY") || name.contains("PASSWORD") || name.contains("TOKEN")) {
                    assertFalse(e.containsKey("value"), name + " must come from a Secret, not a literal");
                    assertNotNull(((Map<String, Object>) e.get("valueFrom")).get("secretKeyRef"), name);
                }
            }
            // every ENTANGLE_* variable a service's configuration reads is provided (ConfigMap, Secret or env)
            Map<String, String> cm = (Map<String, String>) byKindName.get("ConfigMap/entangle-config").get("data");
            Matcher vars = Pattern.compile("\\$\\{(ENTANGLE_[A-Z0-9_]+)").matcher(String.join(" ", props(service).values().stream().map(Object::toString).toList()));
            while (vars.find()) {
                String v = vars.group(1);
                boolean provided = cm.containsKey(v) || env.stream().anyMatch(e -> v.equals(e.get("name")));
                assertTrue(provided, service + " reads " + v + " but the manifests do not provide it");
            }
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void kedaScalesTheProfilerOnItsTaskTopicsConsumerGroup() throws IOException {
        Map<String, Object> so = byKindName.get("ScaledObject/profiler");
        assertNotNull(so, "a KEDA ScaledObject for the profiler");
        Map<String, Object> spec = (Map<String, Object>) so.get("spec");
        assertEquals("profiler", ((Map<String, Object>) spec.get("scaleTargetRef")).get("name"));
        Map<String, Object> trigger = ((List<Map<String, Object>>) spec.get("triggers")).getFirst();
        assertEquals("kafka", trigger.get("type"));
        Map<String, String> md = (Map<String, String>) trigger.get("metadata");
        assertEquals(Topics.PROFILE_TASKS, md.get("topic"));
        assertEquals(props("profiler").getProperty("mp.messaging.incoming." + Topics.PROFILE_TASKS + ".group.id"), md.get("consumerGroup"));
        Map<String, String> cm = (Map<String, String>) byKindName.get("ConfigMap/entangle-config").get("data");
        assertEquals(cm.get("ENTANGLE_KAFKA_BOOTSTRAP"), md.get("bootstrapServers"));
        md.values().forEach(v -> assertTrue(v instanceof String, "KEDA metadata values are strings"));
    }

    @Test
    void servicesUseTheTopicsDefinedOnce() throws IOException {
        Map<String, List<String>> channels = new HashMap<>();
        for (String service : List.of("checkpoint-ingest", "profiler", "query")) {
            List<String> names = new ArrayList<>();
            for (String k : props(service).stringPropertyNames()) {
                Matcher m = Pattern.compile("mp\\.messaging\\.(incoming|outgoing)\\.([a-z-]+)\\.connector").matcher(k);
                if (m.matches()) {
                    // a channel is its topic unless it names one explicitly
                    String topic = props(service).getProperty("mp.messaging." + m.group(1) + "." + m.group(2) + ".topic", m.group(2));
                    names.add(topic);
                }
            }
            channels.put(service, names);
        }
        List<String> topics = List.of(Topics.CHECKPOINTS_INGESTED, Topics.PROFILE_TASKS, Topics.PROFILES_COMPUTED,
                Topics.OBJECT_STORE_EVENTS, Topics.CHECKPOINTS_SAVED);
        channels.values().forEach(l -> l.forEach(c -> assertTrue(topics.contains(c), "channel " + c + " is a topic of dev.entangle.proto.Topics")));
        assertTrue(channels.get("checkpoint-ingest").containsAll(List.of(Topics.CHECKPOINTS_INGESTED, Topics.OBJECT_STORE_EVENTS, Topics.CHECKPOINTS_SAVED)));
        assertTrue(channels.get("profiler").containsAll(List.of(Topics.CHECKPOINTS_INGESTED, Topics.PROFILE_TASKS, Topics.PROFILES_COMPUTED)));
        assertTrue(channels.get("query").contains(Topics.PROFILES_COMPUTED));
        assertEquals(Topics.PROFILE_TASKS_DLQ, props("profiler").getProperty("mp.messaging.incoming.profile-tasks.dead-letter-queue.topic"));
        for (String t : List.of(Topics.OBJECT_STORE_EVENTS, Topics.CHECKPOINTS_SAVED)) {
            assertEquals(Topics.INGEST_EVENTS_DLQ, props("checkpoint-ingest").getProperty("mp.messaging.incoming." + t + ".dead-letter-queue.topic"), t);
            assertEquals("dead-letter-queue", props("checkpoint-ingest").getProperty("mp.messaging.incoming." + t + ".failure-strategy"), t);
        }
    }

    /** The object-store watch: MinIO (compose) notifies the ingest's topic, and the watch settings parse where they are set. */
    @Test
    @SuppressWarnings("unchecked")
    void minioNotifiesTheTopicTheIngestServiceWatches() throws IOException {
        try (Reader r = Files.newBufferedReader(root.resolve("deploy/docker-compose.yml"))) {
            Map<String, Object> services = (Map<String, Object>) ((Map<String, Object>) new Yaml().load(r)).get("services");
            Map<String, Object> minio = (Map<String, Object>) ((Map<String, Object>) services.get("minio")).get("environment");
            List<String> topics = minio.entrySet().stream().filter(e -> e.getKey().startsWith("MINIO_NOTIFY_KAFKA_TOPIC_"))
                    .map(e -> String.valueOf(e.getValue())).toList();
            assertEquals(List.of(Topics.OBJECT_STORE_EVENTS), topics, "MinIO's Kafka notification target");
            String id = minio.keySet().stream().filter(k -> k.startsWith("MINIO_NOTIFY_KAFKA_TOPIC_")).findFirst().orElseThrow()
                    .substring("MINIO_NOTIFY_KAFKA_TOPIC_".length());
            assertEquals("on", minio.get("MINIO_NOTIFY_KAFKA_ENABLE_" + id));
            assertEquals("kafka:9092", minio.get("MINIO_NOTIFY_KAFKA_BROKERS_" + id));
            Map<String, Object> ingest = (Map<String, Object>) ((Map<String, Object>) services.get("checkpoint-ingest")).get("environment");
            assertNotNull(ingest.get("ENTANGLE_INGEST_WATCH_SOURCES"), "compose's ingest watches a bucket");
        }
        Map<String, String> cm = (Map<String, String>) byKindName.get("ConfigMap/entangle-config").get("data");
        assertNotNull(java.time.Duration.parse(cm.get("ENTANGLE_INGEST_WATCH_GIVE_UP_AFTER")));
        assertTrue(cm.containsKey("ENTANGLE_INGEST_WATCH_SOURCES"));
        assertTrue(props("checkpoint-ingest").getProperty("entangle.ingest.watch.sources").contains("ENTANGLE_INGEST_WATCH_SOURCES"));
        String readme = Files.readString(root.resolve("examples/training-cluster/README.md"));
        for (String t : List.of(Topics.OBJECT_STORE_EVENTS, Topics.CHECKPOINTS_SAVED, Topics.INGEST_EVENTS_DLQ)) {
            assertTrue(readme.contains("`" + t + "`"), "examples/training-cluster names topic " + t);
        }
        assertTrue(readme.contains("mc event add") && readme.contains("MINIO_NOTIFY_KAFKA_TOPIC_"), "the MinIO set-up is documented");
    }

    @Test
    @SuppressWarnings("unchecked")
    void gpuOverlayAsksForAGpuOnGpuNodes() throws IOException {
        try (Reader r = Files.newBufferedReader(root.resolve("k8s/overlays/gpu/profiler-gpu.yaml"))) {
            Map<String, Object> d = new Yaml().load(r);
            Map<String, Object> spec = (Map<String, Object>) ((Map<String, Object>) ((Map<String, Object>) d.get("spec")).get("template")).get("spec");
            assertNotNull(spec.get("nodeSelector"));
            assertNotNull(spec.get("tolerations"));
            Map<String, Object> c = ((List<Map<String, Object>>) spec.get("containers")).getFirst();
            assertEquals(1, ((Map<String, Object>) ((Map<String, Object>) c.get("resources")).get("limits")).get("nvidia.com/gpu"));
        }
        try (Reader r = Files.newBufferedReader(root.resolve("deploy/docker-compose.yml"))) {
            Map<String, Object> compose = new Yaml().load(r);
            Map<String, Object> services = (Map<String, Object>) compose.get("services");
            assertTrue(services.keySet().containsAll(List.of("kafka", "minio", "checkpoint-ingest", "profiler", "theory", "query")));
        }
    }
}
