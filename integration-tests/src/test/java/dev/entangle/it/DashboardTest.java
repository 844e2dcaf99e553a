package dev.entangle.it;

import com.fasterxml.jackson.databind.JsonNode;
import dev.entangle.cli.Uploader;
import dev.entangle.core.testing.Fixtures;
import dev.entangle.proto.ingest.v1.IngestResult;
import dev.entangle.proto.ingest.v1.UploadHeader;
import dev.entangle.proto.query.v1.ListRunsRequest;
import dev.entangle.proto.query.v1.QueryGrpc;
import dev.entangle.proto.query.v1.RunState;
import dev.entangle.proto.query.v1.RunSummary;
import dev.entangle.proto.query.v1.StepProgress;
import dev.entangle.it.kit.Replica;
import dev.entangle.it.kit.StackKit;
import dev.entangle.stack.Component;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.MetadataUtils;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebElement;
import org.w3c.dom.Document;

import javax.xml.parsers.DocumentBuilderFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The dashboard in a real browser (Debian's Chromium) on the real stack: the demo runs are
 * listed; the ΔW profile of layer 0 q_proj carries the oracle's numbers; the figures of a run,
 * over time and compared are drawn; an SVG download is a valid SVG; and on a secured query (token
 * and tenant header, as in {@link TenantAccessTest}) a checkpoint ingested while the page is open
 * appears with its progress without a reload, while another tenant's run never shows. Runs last
 * (junit-platform.properties orders classes): the end-to-end test ingests the demo runs first,
 * and where it did not run, this test ingests what is missing. Screenshots at 1280×800 go to
 * target/dashboard/.
 */
@ExtendWith(SharedStack.class)
@Order(Integer.MAX_VALUE)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DashboardTest {

    static final List<String> DEMO_RUNS = List.of("fft-lr1e-4", "lora-r16-a16", "lora-r16-a256", "lora-r4-a16", "mps-r8-chi8-a16");
    static final Path SHOTS = Path.of("target/dashboard");
    static final Duration DRAW = Duration.ofSeconds(60);
    /** The page's tenant and another one (not TenantAccessTest's: its runs replay into this test's secured query too). */
    static final String HOOLI = "hooli";
    static final String INITECH = "initech";

    static ManagedChannel ingest;
    static ManagedChannel query;

    @BeforeAll
    static void connect() throws Exception {
        ingest = SharedStack.channel(Component.INGEST);
        query = SharedStack.channel(Component.QUERY);
        ensureDemoRuns();
    }

    @AfterAll
    static void disconnect() {
        if (ingest != null) ingest.shutdownNow();
        if (query != null) query.shutdownNow();
    }

    /** Ingests the fixture checkpoints the stack does not have yet and waits until every one is profiled. */
    static void ensureDemoRuns() throws Exception {
        Map<String, Set<Long>> have = new HashMap<>();
        for (RunSummary r : QueryGrpc.newBlockingStub(query).listRuns(ListRunsRequest.getDefaultInstance()).getRunsList()) {
            have.put(r.getRun(), new TreeSet<>(r.getStepsList()));
        }
        Uploader.upload(ingest, Fixtures.base(), UploadHeader.newBuilder().setBaseModelName(StackEndToEndTest.BASE).build(), p -> { });
        int expected = 0;
        for (Path c : Fixtures.checkpoints()) {
            expected++;
            JsonNode ev = new com.fasterxml.jackson.databind.ObjectMapper().readTree(c.resolve("trainer_event.json").toFile());
            if (have.getOrDefault(ev.path("run").asText(), Set.of()).contains(ev.path("step").asLong())) continue;
            UploadHeader.Builder h = UploadHeader.newBuilder();
            if (Fixtures.isFullModel(c)) h.setBaseId(StackEndToEndTest.BASE);
            Uploader.upload(ingest, c, h.build(), p -> { });
        }
        int checkpoints = expected;
        Waits.until("the demo runs' " + checkpoints + " checkpoints profiled", Duration.ofSeconds(300), () -> {
            int complete = 0;
            for (RunSummary r : QueryGrpc.newBlockingStub(query).listRuns(ListRunsRequest.getDefaultInstance()).getRunsList()) {
                if (!DEMO_RUNS.contains(r.getRun())) continue;
                for (StepProgress p : r.getProgressList()) if (p.getUnitsDone() >= p.getUnitsTotal() && p.getUnitsTotal() > 0) complete++;
            }
            return complete;
        }, complete -> complete >= checkpoints);
    }

    static String url(int port) {
        return "http://127.0.0.1:" + port + "/";
    }

    @Test
    @Order(1)
    void theDemoRunsTheirFiguresAndTheDownloads() throws Exception {
        try (Browser b = new Browser(Map.of())) {
            b.open(url(SharedStack.stack().port(Component.QUERY)));
            // the runs, with their hyper-parameters and every step profiled
            for (String run : DEMO_RUNS) {
                WebElement row = b.await("the row of " + run, DRAW, () -> b.driver.findElements(By.cssSelector("tr[data-run='" + run + "']"))
                        .stream().findFirst().orElse(null));
                assertTrue(row.getText().contains("1, 30, 150"), row.getText());
                for (WebElement bar : row.findElements(By.tagName("progress"))) {
                    assertEquals(bar.getDomAttribute("max"), bar.getDomAttribute("value"), run + " step " + bar.getDomAttribute("data-step") + " fully profiled");
                }
            }
            WebElement lora = b.driver.findElement(By.cssSelector("tr[data-run='lora-r16-a256']"));
            assertTrue(lora.getText().contains("LoRA") && lora.getText().contains("256"), "method and α: " + lora.getText());
            b.screenshot(SHOTS.resolve("runs.png"));

            // a run at its latest step: the ΔW profile of layer 0 q_proj carries the oracle's numbers
            b.driver.findElement(By.linkText("lora-r16-a16")).click();
            WebElement delta = b.drawn("delta-profile", Map.of("run", "lora-r16-a16", "target", "layers.0.q_proj", "step", "150"), DRAW);
            List<Map<String, Object>> series = b.series(delta);
            JsonNode oracle = Fixtures.oracle(Fixtures.root().resolve("runs/lora-r16-a16/checkpoint-150")).get("deltas").get("layers.0.q_proj").get("profile");
            List<?> measured = data(series, "measured");
            assertEquals(oracle.size(), measured.size(), "a point per cut");
            for (int i = 0; i < oracle.size(); i++) {
                List<?> point = (List<?>) measured.get(i);
                assertEquals(i + 1, ((Number) point.get(0)).intValue());
                assertEquals(oracle.get(i).get("S").doubleValue(), ((Number) point.get(1)).doubleValue(), 1e-6, "cut " + (i + 1));
            }
            assertEquals(oracle.size(), data(series, "page").size(), "the Page curve per cut");
            assertEquals(Math.log(16), ((Number) ((List<?>) data(series, "ln-r-16").getFirst()).get(1)).doubleValue(), 1e-12, "the ln r line at r = 16");
            // the other figures of the run: eight heads and XXᵀ of layer 0, a spectrum against MP, the bonds
            WebElement heads = b.drawn("attention-heads", Map.of("step", "150"), DRAW);
            assertEquals(9, b.series(heads).size(), "8 heads and XXᵀ: " + b.series(heads).stream().map(s -> s.get("name")).toList());
            WebElement spectrum = b.drawn("spectrum", Map.of("target", "layers.0.q_proj"), DRAW);
            assertFalse(data(b.series(spectrum), "marchenko-pastur").isEmpty(), "the MP density from the theory service");
            b.drawn("discarded-weight", Map.of("target", "layers.0.q_proj"), DRAW);
            b.screenshot(SHOTS.resolve("run.png"));

            // the SVG download is a valid SVG document of the figure
            delta.findElement(By.cssSelector("button[data-download='svg']")).click();
            Path svg = b.download(".svg", Duration.ofSeconds(20));
            Document doc = svgParser().parse(svg.toFile());
            assertEquals("svg", doc.getDocumentElement().getLocalName());
            assertEquals("http://www.w3.org/2000/svg", doc.getDocumentElement().getNamespaceURI());
            assertTrue(doc.getElementsByTagNameNS("http://www.w3.org/2000/svg", "path").getLength() > 0, "it draws");
            assertTrue(doc.getDocumentElement().getTextContent().contains("Page"), "with its legend");
            delta.findElement(By.cssSelector("button[data-download='csv']")).click();
            List<String> csv = Files.readAllLines(b.download(".csv", Duration.ofSeconds(20)));
            assertEquals("series,cut,S", csv.getFirst());
            assertTrue(csv.stream().anyMatch(l -> l.startsWith("S (step 150),1,")), csv.toString());
            // the keyboard: a focused chart's points with the arrow keys; every step of the run at once (Fig. 3–4)
            delta.findElement(By.className("chart")).sendKeys(Keys.ARROW_RIGHT);
            b.await("the tooltip at cut 1", DRAW, () -> delta.findElement(By.className("chart")).getText().contains("cut 1"));
            delta.findElement(By.cssSelector("input[type='checkbox']")).sendKeys(Keys.SPACE);
            b.await("a curve per step", DRAW, () -> b.series(delta).stream().map(x -> String.valueOf(x.get("id")))
                    .filter(id -> id.equals("measured") || id.startsWith("step-")).count() == 3);

            // over time and across runs, for the demo runs (the other tests' runs are of other shapes)
            b.driver.findElement(By.cssSelector("nav a[data-view='time']")).click();
            WebElement picker = b.await("the run picker", DRAW, () -> b.driver.findElements(By.cssSelector("fieldset.picker")).stream().findFirst().orElse(null));
            picker.findElement(By.cssSelector("button[data-pick='none']")).click();
            for (String run : DEMO_RUNS) picker.findElement(By.cssSelector("input[value='" + run + "']")).click();
            String picked = String.valueOf(DEMO_RUNS.size());
            b.drawn("timeline", Map.of("target", "layers.0.q_proj", "runs", picked), DRAW);
            b.drawn("sweep", Map.of("target", "layers.0.q_proj", "runs", picked), DRAW);
            WebElement noHair = b.drawn("no-hair", Map.of("runs", picked), DRAW);
            assertEquals(2, ((List<?>) data(b.series(noHair), "ratio")).size(), "a no-hair ratio per layer");
            b.screenshot(SHOTS.resolve("time.png"));
            b.driver.findElement(By.cssSelector("nav a[data-view='compare']")).click();
            WebElement compare = b.drawn("compare", Map.of("target", "layers.0.q_proj"), DRAW);
            assertEquals(3, compare.findElements(By.cssSelector("table[data-role='metrics'] tbody tr")).size(), "LoRA, FFT and MPS in the metrics table");
            b.screenshot(SHOTS.resolve("compare.png"));
        }
    }

    /** A secured query: a tenant's page shows its checkpoint as it is profiled, live, and never another tenant's run. */
    @Test
    @Order(2)
    void aTenantsPageIsLiveAndShowsOnlyItsRuns() throws Exception {
        StackKit stack = SharedStack.stack();
        Map<String, String> secured = Map.of("ENTANGLE_AUTH_TOKEN", TenantAccessTest.TOKEN, "ENTANGLE_TENANT_HEADER", TenantAccessTest.HEADER);
        Replica ingestReplica = stack.startReplica(Component.INGEST, "ingest-dashboard", secured);
        Replica queryReplica = stack.startReplica(Component.QUERY, "query-dashboard", secured);
        ManagedChannel securedIngest = null, securedQuery = null;
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            ingestReplica.awaitReady(deadline);
            queryReplica.awaitReady(deadline);
            securedIngest = ManagedChannelBuilder.forAddress("127.0.0.1", ingestReplica.port()).usePlaintext().build();
            securedQuery = ManagedChannelBuilder.forAddress("127.0.0.1", queryReplica.port()).usePlaintext().build();
            Map<String, String> asHooli = Map.of("authorization", "Bearer " + TenantAccessTest.TOKEN, TenantAccessTest.HEADER, HOOLI);
            try (Browser b = new Browser(asHooli)) {
                b.open(url(queryReplica.port()));
                b.await("the live stream", DRAW, () -> "live".equals(b.js("return document.getElementById('live').dataset.state")));
                // from now on: every run name and every progress the page ever shows
                b.js("window.__seen = []; window.__loaded = performance.timeOrigin;"
                        + "const log = () => document.querySelectorAll('tr[data-run]').forEach(tr => tr.querySelectorAll('progress').forEach(p =>"
                        + "  window.__seen.push(tr.dataset.run + ' ' + p.dataset.step + ' ' + p.value + '/' + p.max)));"
                        + "new MutationObserver(log).observe(document.getElementById('main'), {subtree: true, childList: true, attributes: true}); log();");
                assertEquals(0L, b.js("return document.querySelectorAll('tr[data-run]').length"), "the tenant has no runs yet (the open stack's are nobody's)");

                IngestResult mine = Uploader.upload(TenantAccessTest.as(securedIngest, TenantAccessTest.headers(HOOLI)),
                        Fixtures.root().resolve("runs/lora-r4-a16/checkpoint-30"), UploadHeader.newBuilder().setRun("dash-hooli").setStep(30).build(), p -> { });
                IngestResult theirs = Uploader.upload(TenantAccessTest.as(securedIngest, TenantAccessTest.headers(INITECH)),
                        Fixtures.root().resolve("runs/lora-r4-a16/checkpoint-1"), UploadHeader.newBuilder().setRun("dash-initech").setStep(1).build(), p -> { });
                assertEquals(IngestResult.State.NEW, mine.getState());
                assertEquals(IngestResult.State.NEW, theirs.getState());

                int units = StackEndToEndTest.UNITS_PER_CHECKPOINT;
                b.await("dash-hooli profiled on the open page", Duration.ofSeconds(180), () -> b.js(
                        "const p = document.querySelector(\"tr[data-run='dash-hooli'] progress[data-step='30']\");"
                                + "return p && p.value === " + units + " && p.max === " + units));
                // the other tenant's checkpoint is through the secured view too, while the page was open
                QueryGrpc.QueryBlockingStub asInitech = QueryGrpc.newBlockingStub(securedQuery)
                        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(TenantAccessTest.headers(INITECH)));
                Waits.until("the other tenant's checkpoint is profiled", Duration.ofSeconds(180),
                        () -> asInitech.listRuns(ListRunsRequest.getDefaultInstance()).getRunsList().stream()
                                .anyMatch(r -> r.getRun().equals("dash-initech") && r.getState() == RunState.COMPLETE));
                Thread.sleep(500);   // the last events of the other tenant's units have reached the page, had they been sent
                @SuppressWarnings("unchecked")
                List<String> seen = (List<String>) b.js("return window.__seen");
                assertTrue(seen.stream().anyMatch(s -> s.startsWith("dash-hooli 30 ")), "the tenant's run appeared with its progress: " + seen);
                assertTrue(seen.contains("dash-hooli 30 " + units + "/" + units), seen.toString());
                assertTrue(seen.stream().noneMatch(s -> s.startsWith("dash-initech") || DEMO_RUNS.stream().anyMatch(s::startsWith)),
                        "only the tenant's runs, ever: " + seen);
                assertNotNull(b.js("return window.__loaded"), "the page was not reloaded (what the test set in it is still there)");
                assertEquals(1L, b.js("return document.querySelectorAll('tr[data-run]').length"));
                b.screenshot(SHOTS.resolve("tenant-runs.png"));

                // the other tenant's run by name: unknown to the page and to its requests
                b.js("location.hash = '#/run/dash-initech'");
                b.await("the other tenant's run unknown", DRAW, () -> b.driver.findElement(By.id("main")).getText().contains("Unknown run dash-initech"));
                Object status = b.driver.executeAsyncScript("const done = arguments[arguments.length - 1];"
                        + "fetch('api/profile?run=dash-initech&target=layers.0.q_proj').then(r => done(r.status));");
                assertEquals(404L, status, "another tenant's run answers as unknown");
                // and the tenant's own run draws
                b.js("location.hash = '#/run/dash-hooli'");
                b.drawn("delta-profile", Map.of("run", "dash-hooli", "target", "layers.0.q_proj", "step", "30"), DRAW);
                b.screenshot(SHOTS.resolve("tenant-run.png"));
            }
        } finally {
            if (securedIngest != null) securedIngest.shutdownNow();
            if (securedQuery != null) securedQuery.shutdownNow();
            ingestReplica.stop(Duration.ofSeconds(20));
            queryReplica.stop(Duration.ofSeconds(20));
        }
    }

    static List<?> data(List<Map<String, Object>> series, String id) {
        return series.stream().filter(s -> id.equals(s.get("id"))).map(s -> (List<?>) s.get("data")).findFirst()
                .orElseThrow(() -> new AssertionError("no series " + id + " among " + series.stream().map(s -> s.get("id")).toList()));
    }

    static javax.xml.parsers.DocumentBuilder svgParser() throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(true);
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        return f.newDocumentBuilder();
    }
}
