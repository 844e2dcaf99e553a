package dev.entangle.query;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.entangle.proto.Topics;
import dev.entangle.proto.events.v1.CutProfile;
import dev.entangle.proto.events.v1.Hyperparameters;
import dev.entangle.proto.events.v1.Method;
import dev.entangle.proto.events.v1.Profile;
import dev.entangle.proto.events.v1.ProfileComputed;
import dev.entangle.proto.events.v1.UnitKind;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.smallrye.reactive.messaging.memory.InMemoryConnector;
import io.smallrye.reactive.messaging.memory.InMemorySource;
import jakarta.enterprise.inject.Any;
import jakarta.inject.Inject;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The dashboard's HTTP side under tenancy (the same profile as {@link QueryServiceTest}): a
 * request without a tenant or with a bad one is refused as gRPC refuses it, every endpoint that
 * names a run answers another tenant's run as unknown, and the live stream carries only the
 * caller's runs. The numbers are the view's, in the query API's JSON mapping.
 */
@QuarkusTest
@TestProfile(DashboardResourceTest.Tenancy.class)
class DashboardResourceTest {

    /** Tenancy as in QueryServiceTest, in an application of its own (the view is the application's: each class counts its own runs). */
    public static class Tenancy extends QueryServiceTest.Tenancy {}

    static final String HEADER = "x-entangle-tenant";
    static final JsonMapper JSON = JsonMapper.builder().build();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Inject
    @Any
    InMemoryConnector connector;

    @TestHTTPResource
    URL url;

    /** One ΔW unit of a run: the three cuts of a 4 × 4 ΔW (sites 2·2·2·2), the middle one truncated. */
    static ProfileComputed result(String run, String tenant, long step, double s1) {
        return ProfileComputed.newBuilder().setCheckpointId("c-" + run + "-" + step).setRun(run).setStep(step).setMethod(Method.LORA)
                .setKind(UnitKind.DELTA).setTarget("layers.0.q_proj").setUnitIndex(0).setUnitCount(2).setTenant(tenant)
                .setHyper(Hyperparameters.newBuilder().setR(2).setLoraAlpha(16))
                .addProfiles(Profile.newBuilder().setName("layers.0.q_proj").addShape(4).addShape(4).addSites(2).addSites(2).addSites(2).addSites(2)
                        .setRowColumnCut(2)
                        .addCuts(CutProfile.newBuilder().setCut(1).setDLeft(2).setDRight(8).setEntropy(s1).setNormalised(s1 / Math.log(2)).setBondDim(2))
                        .addCuts(CutProfile.newBuilder().setCut(2).setDLeft(4).setDRight(4).setEntropy(0.25).setBondDim(2).setDiscardedWeight(0.125))
                        .addCuts(CutProfile.newBuilder().setCut(3).setDLeft(8).setDRight(2).setEntropy(0.5).setBondDim(2)))
                .build();
    }

    HttpResponse<String> get(String path, String tenant) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url.toString().replaceAll("/$", "") + path)).timeout(Duration.ofSeconds(20));
        if (tenant != null) b.header(HEADER, tenant);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    JsonNode json(String path, String tenant) throws Exception {
        HttpResponse<String> r = get(path, tenant);
        assertEquals(200, r.statusCode(), path + ": " + r.body());
        return JSON.readTree(r.body());
    }

    List<String> runs(String tenant) throws Exception {
        List<String> out = new ArrayList<>();
        json("/api/runs", tenant).path("runs").forEach(r -> out.add(r.path("run").asText()));
        return out;
    }

    void awaitRun(String tenant, String run) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!runs(tenant).contains(run)) {
            assertTrue(System.nanoTime() < deadline, run + " never listed for " + tenant);
            Thread.sleep(50);
        }
    }

    @Test
    void everyEndpointKeepsToTheCallersRuns() throws Exception {
        InMemorySource<byte[]> source = connector.source(Topics.PROFILES_COMPUTED);
        source.send(result("dash-acme", "acme", 10, 0.5).toByteArray());
        source.send(result("dash-globex", "globex", 10, 0.75).toByteArray());
        awaitRun("acme", "dash-acme");
        awaitRun("globex", "dash-globex");

        // refused as gRPC refuses: no tenant (401), a bad one (400), both naming the header; management endpoints need none
        HttpResponse<String> anonymous = get("/api/runs", null);
        assertEquals(401, anonymous.statusCode());
        assertTrue(anonymous.body().contains("'" + HEADER + "'"), anonymous.body());
        HttpResponse<String> bad = get("/api/runs", "../etc");
        assertEquals(400, bad.statusCode());
        assertTrue(bad.body().contains("tenant header"), bad.body());
        assertEquals(401, get("/", null).statusCode(), "the page itself is behind tenancy too");
        assertEquals(200, get("/q/health/live", null).statusCode());

        assertTrue(runs("acme").contains("dash-acme"));
        assertFalse(runs("acme").contains("dash-globex"), "acme never sees globex's run");
        assertFalse(runs("globex").contains("dash-acme"));

        // acme reads its own run: the view's numbers, hyper-parameters and progress
        JsonNode summary = null;
        for (JsonNode r : json("/api/runs", "acme").path("runs")) if (r.path("run").asText().equals("dash-acme")) summary = r;
        assertEquals("LORA", summary.path("method").asText());
        assertEquals(2, summary.path("hyper").path("r").asInt());
        assertEquals(16.0, summary.path("hyper").path("loraAlpha").asDouble(), 0);
        assertEquals(1, summary.path("unitsDone").asInt());
        assertEquals(2, summary.path("unitsTotal").asInt());
        assertEquals("PROFILING", summary.path("state").asText());
        JsonNode profile = json("/api/profile?run=dash-acme&step=10&target=layers.0.q_proj", "acme").path("profile");
        assertEquals(0.5, profile.path("cuts").get(0).path("entropy").asDouble(), 0);
        assertEquals(0.125, profile.path("cuts").get(1).path("discardedWeight").asDouble(), 0);
        assertEquals(List.of("layers.0.q_proj"), JSON.convertValue(json("/api/runs/dash-acme/targets", "acme").path("targets"), List.class));
        assertEquals(0.25, json("/api/runs/dash-acme/profiles?step=10&layer=0", "acme").path("profiles").path("layers.0.q_proj")
                .path("cuts").get(1).path("entropy").asDouble(), 0);
        JsonNode cmp = json("/api/compare?run=dash-acme&target=layers.0.q_proj&step=latest", "acme").path("runs").get(0);
        assertTrue(cmp.path("found").asBoolean());
        assertEquals(Math.log(2), cmp.path("baselines").path("lnR").asDouble(), 1e-12, "ln r from the run's hyper-parameters");
        assertEquals(3, cmp.path("baselines").path("page").size(), "a Page value per cut (evaluated here: no theory service in this test)");
        assertEquals(Math.log(2), cmp.path("baselines").path("lnChiMax").asDouble(), 1e-12, "a truncated bond: ln χ");
        JsonNode point = json("/api/timeline?run=dash-acme&target=layers.0.q_proj&metric=row_column_s", "acme").path("points").get(0);
        assertEquals(10, point.path("step").asLong());
        assertEquals(0.25, point.path("value").asDouble(), 0, "S at the row/column cut (cut 2)");
        assertEquals(2.0, json("/api/sweep?run=dash-acme&target=layers.0.q_proj&by=r", "acme").path("points").get(0).path("x").asDouble(), 0);

        // another tenant's run is unknown on every endpoint that names one
        for (String path : List.of("/api/runs/dash-acme/targets", "/api/runs/dash-acme/profiles",
                "/api/profile?run=dash-acme&target=layers.0.q_proj", "/api/compare?run=dash-acme&target=layers.0.q_proj",
                "/api/no-hair?run=dash-acme&run=dash-globex", "/api/timeline?run=dash-acme&target=layers.0.q_proj&metric=mid_s",
                "/api/sweep?run=dash-acme&target=layers.0.q_proj&by=alpha")) {
            HttpResponse<String> r = get(path, "globex");
            assertEquals(404, r.statusCode(), path + ": " + r.body());
            assertEquals("unknown run dash-acme", JSON.readTree(r.body()).path("error").asText(), path);
        }
        // a bad parameter says which and what is allowed
        HttpResponse<String> metric = get("/api/timeline?run=dash-acme&target=layers.0.q_proj&metric=bogus", "acme");
        assertEquals(400, metric.statusCode());
        assertTrue(metric.body().contains("mid_s") && metric.body().contains("'bogus'"), metric.body());
        assertEquals(400, get("/api/profile?run=dash-acme&target=layers.0.q_proj&step=ten", "acme").statusCode());
    }

    /** The live stream: the caller's runs first, then each of its runs as results land; another tenant's never. */
    @Test
    void theLiveStreamCarriesOnlyTheCallersRuns() throws Exception {
        InMemorySource<byte[]> source = connector.source(Topics.PROFILES_COMPUTED);
        source.send(result("live-globex", "globex", 1, 0.5).toByteArray());
        awaitRun("globex", "live-globex");
        HttpRequest req = HttpRequest.newBuilder(URI.create(url.toString().replaceAll("/$", "") + "/api/events")).header(HEADER, "globex").build();
        HttpResponse<Stream<String>> stream = HTTP.send(req, HttpResponse.BodyHandlers.ofLines());
        assertEquals(200, stream.statusCode());
        assertTrue(stream.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        List<String> lines = new ArrayList<>();
        CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> {
            Iterator<String> it = stream.body().iterator();
            while (it.hasNext()) {
                String l = it.next();
                synchronized (lines) {
                    lines.add(l);
                }
                if (l.contains("\"live-globex\"") && l.contains("\"unitsDone\":2")) return;
            }
        });
        try {
            awaitLine(lines, "event:runs");
            // acme's result first, then globex's: had acme's leaked, it would be on the stream before globex's
            source.send(result("live-acme", "acme", 1, 0.5).toByteArray());
            ProfileComputed second = result("live-globex", "globex", 1, 0.5).toBuilder().setTarget("layers.0.v_proj").setUnitIndex(1).build();
            source.send(second.toByteArray());
            reader.get(10, TimeUnit.SECONDS);
        } finally {
            stream.body().close();
        }
        synchronized (lines) {
            assertTrue(lines.stream().map(l -> l.replace(" ", "")).anyMatch(l -> l.equals("event:run")), lines.toString());
            assertFalse(lines.stream().anyMatch(l -> l.contains("live-acme") || l.contains("dash-acme")), "no acme run on globex's stream: " + lines);
            String first = lines.stream().filter(l -> l.startsWith("data")).findFirst().orElseThrow();
            assertTrue(first.contains("\"live-globex\""), "the stream opens with the caller's runs: " + first);
        }
    }

    static void awaitLine(List<String> lines, String prefix) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            synchronized (lines) {
                if (lines.stream().anyMatch(l -> l.replace(" ", "").startsWith(prefix))) return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no '" + prefix + "' on the stream: " + lines);
    }
}
